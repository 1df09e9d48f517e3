import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"
import { TestDatabase } from "@delfos/test-utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

// Every ```ts block of every package README runs as written (with DATABASE_URL naming a fresh database).
const run = promisify(execFile)
const root = join(import.meta.dirname, "..", "..")
// Written inside examples/ so that the packages resolve to the built workspace packages.
const scratch = mkdtempSync(join(import.meta.dirname, "..", ".snippets-"))
let database: TestDatabase.Handle

beforeAll(async () => {
  database = await TestDatabase.acquire()
}, 60_000)

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true })
  await database?.release()
})

const snippets = (readme: string) =>
  [...readFileSync(join(root, readme), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!)

const readmes = ["core", "source-http", "sink-postgres", "fonte"].map((name) => `packages/${name}/README.md`)

for (const readme of readmes) {
  describe(`${readme}: every snippet runs`, () => {
    const blocks = snippets(readme)

    it("has snippets", () => {
      expect(blocks.length).toBeGreaterThanOrEqual(1)
    })

    blocks.forEach((code, i) => {
      it(`snippet ${i + 1}`, async () => {
        const file = join(scratch, `${readme.split("/")[1]}-snippet-${i + 1}.ts`)
        writeFileSync(file, code)
        const { stderr } = await run(process.execPath, [file], {
          cwd: scratch,
          env: { ...process.env, DATABASE_URL: database.url },
          timeout: 60_000
        })
        expect(stderr).toBe("")
      }, 60_000)
    })
  })
}
