#!/usr/bin/env node
/** The `delfos-etl` executable: the only module with side effects. */
import module from "node:module"

// Node caches compiled modules on disk: a later start skips most of the parsing.
module.enableCompileCache?.()
// Output piped into `head` and closed early is not a failure.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error
    process.exit(process.exitCode ?? 0)
  })
}
const { main } = await import("./Cli.ts")

main(process.argv).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`delfos-etl: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  }
)
