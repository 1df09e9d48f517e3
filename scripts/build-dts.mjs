// Declarations for a package's dist: tsc emits one .d.ts per module (tsup's bundled .d.ts drops
// value exports that share a name with a type, e.g. `Partition.Day`), then relative `.ts`
// specifiers become `.js`, which is what the published files are named.
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"

const dist = process.argv[2] ?? "dist"
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json", "--emitDeclarationOnly", "--outDir", dist], {
  stdio: "inherit"
})
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : entry.name.endsWith(".d.ts") ? [join(dir, entry.name)] : []
  )
for (const file of walk(dist)) {
  const text = readFileSync(file, "utf8")
  const fixed = text.replace(/(from\s+|import\()(["'])(\.{1,2}\/[^"']+)\.ts\2/g, "$1$2$3.js$2")
  if (fixed !== text) writeFileSync(file, fixed)
}
