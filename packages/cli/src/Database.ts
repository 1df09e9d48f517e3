/**
 * The target database of a command: Postgres at `--database-url`/`DATABASE_URL`, or else an
 * embedded PGlite database kept in `--data-dir` (`.delfos/` by default), so every command works
 * with no Postgres installed.
 */
import { Connection } from "@delfos/etl-sink-postgres"
import type { PgClient } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as SqlClient from "effect/sql/SqlClient"
import type { Settings } from "./Settings.ts"

/** One line on which database a command uses. */
export const describe = (settings: Pick<Settings, "databaseUrl" | "dataDir">): string =>
  settings.databaseUrl === undefined
    ? `using the embedded database in ${settings.dataDir}/ (give --database-url or DATABASE_URL for Postgres)`
    : `using Postgres at ${Connection.describe(settings.databaseUrl)}`

/** The `SqlClient` for the settings' database. */
export const layer = (
  settings: Pick<Settings, "databaseUrl" | "dataDir" | "concurrency">
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, unknown> =>
  settings.databaseUrl !== undefined
    ? Connection.layer({ url: settings.databaseUrl, maxConnections: Math.max(2, settings.concurrency + 1) })
    : Layer.unwrap(
        Effect.gen(function* () {
          // Loaded only when used: the embedded database is the fonte package's, with PGlite behind it.
          const { EmbeddedPostgres } = yield* Effect.promise(() => import("@delfos/fonte"))
          return Layer.unwrap(
            Effect.gen(function* () {
              const embedded = yield* EmbeddedPostgres.EmbeddedPostgres
              return Connection.layer({ url: embedded.url, maxConnections: embedded.maxConnections })
            })
          ).pipe(Layer.provide(EmbeddedPostgres.EmbeddedPostgres.layer({ dataDir: settings.dataDir })))
        })
      )
