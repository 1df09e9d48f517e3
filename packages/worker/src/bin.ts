#!/usr/bin/env node
/** The `delfos-etl-worker` executable: the only module with side effects. */
import module from "node:module"

// Node caches compiled modules on disk: a later start skips most of the parsing.
module.enableCompileCache?.()
const { main } = await import("./Cli.ts")

main(process.argv).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`delfos-etl-worker: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  }
)
