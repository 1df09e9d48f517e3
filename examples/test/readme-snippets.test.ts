import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"

const run = promisify(execFile)
const root = join(import.meta.dirname, "..", "..")
// Written inside examples/ so that `@delfos/etl` resolves to the built workspace package.
const scratch = mkdtempSync(join(import.meta.dirname, "..", ".snippets-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const snippets = (readme: string) =>
  [...readFileSync(join(root, readme), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!)

for (const readme of ["packages/core/README.md", "packages/fonte/README.md"]) {
  describe(`${readme}: every snippet runs`, () => {
    const blocks = snippets(readme)

    it("has snippets", () => {
      expect(blocks.length).toBeGreaterThanOrEqual(1)
    })

    blocks.forEach((code, i) => {
      it(`snippet ${i + 1}`, async () => {
        const file = join(scratch, `${readme.split("/")[1]}-snippet-${i + 1}.ts`)
        writeFileSync(file, code)
        const { stderr } = await run(process.execPath, [file], { cwd: scratch })
        expect(stderr).toBe("")
      })
    })
  })
}
