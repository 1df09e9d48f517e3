#!/usr/bin/env node
/**
 * `delfos-fonte [--port 8000] [--host 127.0.0.1] [--database-url URL] [--data-dir DIR]`: the
 * reference fonte server. Without a database URL (flag or DATABASE_URL) it runs on an embedded
 * PGlite database, in DIR or in memory. Stops cleanly on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util"
import { NodeRuntime } from "@effect/platform-node"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as Server from "./Server.ts"

const { values } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT ?? "8000" },
    host: { type: "string", default: "127.0.0.1" },
    "database-url": { type: "string" },
    "data-dir": { type: "string" },
    help: { type: "boolean", default: false }
  }
})

if (values.help) {
  console.log(
    "usage: delfos-fonte [--port 8000] [--host 127.0.0.1] [--database-url URL] [--data-dir DIR]\n" +
      "Serves the fonte sensors API. Without --database-url or DATABASE_URL: an embedded PGlite database."
  )
  process.exit(0)
}

const port = Number(values.port)
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`delfos-fonte: invalid port "${values.port}"`)
  process.exit(2)
}
const databaseUrl = values["database-url"] ?? process.env.DATABASE_URL
if (databaseUrl === undefined) {
  console.log(`delfos-fonte: no DATABASE_URL, using embedded PGlite (${values["data-dir"] ?? "in memory"})`)
}

Layer.launch(Server.layer({ port, host: values.host, databaseUrl, dataDir: values["data-dir"], log: true })).pipe(
  Effect.orDie,
  NodeRuntime.runMain({
    // A shutdown asked for with SIGINT/SIGTERM is a clean exit for a server.
    teardown: (exit, onExit) =>
      Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
  })
)
