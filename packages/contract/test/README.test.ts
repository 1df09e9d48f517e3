// Every ```ts block of the README is a vitest file: each is written out and imported here, so its
// `describe` blocks run as this file's tests.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, expect, it } from "vitest"

const blocks = [
  ...readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)
].map((match) => match[1]!)
// Inside the package, so that "@delfos/etl-contract" resolves as it does for a user.
const scratch = mkdtempSync(join(import.meta.dirname, ".readme-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

it("has a snippet per contract", () => {
  expect(blocks.map((code) => code.match(/(\w+Contract)\.run/)?.[1])).toEqual([
    "SinkContract",
    "SourceContract",
    "LedgerContract"
  ])
})

for (const [i, code] of blocks.entries()) {
  const file = join(scratch, `snippet-${i + 1}.ts`)
  writeFileSync(file, code)
  await import(file)
}
