/**
 * An embedded Postgres (PGlite, in process) served over TCP on a free local port, so code that
 * speaks the Postgres wire protocol (`@effect/sql-pg`) uses it like a server. The zero-setup
 * default when no database URL is given (SPEC §5). Clients must use one connection.
 */
import { mkdir } from "node:fs/promises"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

export interface EmbeddedPostgresOptions {
  /** A data directory to keep the database in; in memory when absent. */
  readonly dataDir?: string | undefined
}

export class EmbeddedPostgresError extends Schema.TaggedError<EmbeddedPostgresError>()("EmbeddedPostgresError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

export class EmbeddedPostgres extends Context.Service<
  EmbeddedPostgres,
  {
    /** `postgres://postgres@127.0.0.1:<port>/postgres` */
    readonly url: string
    /** PGlite serves one connection at a time: pools must use `maxConnections: 1`. */
    readonly maxConnections: 1
  }
>()("@delfos/fonte/EmbeddedPostgres") {
  static readonly layer = (options: EmbeddedPostgresOptions = {}) =>
    Layer.effect(
      EmbeddedPostgres,
      Effect.gen(function* () {
        const server = yield* Effect.acquireRelease(
          Effect.tryPromise({
            try: async () => {
              // Loaded on demand: PGlite is only needed when no database URL is given.
              const { PGlite } = await import("@electric-sql/pglite")
              const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket")
              if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true })
              const db = await PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir })
              // Clients use one connection, but a client reconnecting right after closing needs a second
              // slot until the server has noticed the close.
              const socket = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 16 })
              await socket.start()
              return { db, socket }
            },
            catch: (error) =>
              new EmbeddedPostgresError({ reason: `embedded Postgres failed to start: ${String(error)}` })
          }),
          ({ db, socket }) => Effect.promise(() => socket.stop().then(() => db.close()))
        )
        const connection = server.socket.getServerConn()
        return EmbeddedPostgres.of({ url: `postgres://postgres@${connection}/postgres`, maxConnections: 1 })
      })
    )
}
