/**
 * The layers commands run on. The target database: Postgres at `--database-url`/`DATABASE_URL`, or
 * else an embedded PGlite database kept in `--data-dir` (`.delfos/alvo` by default), so every
 * command works with no Postgres installed; the sink and the ledger over it; the HTTP source; and
 * this process as the runner of the runs it records.
 */
import { type Ledger, Runner, type Sink, Source } from "@delfos/etl"
import { PostgresSink, RunLedger } from "@delfos/etl-sink-postgres"
import { HttpSource } from "@delfos/etl-source-http"
import { Connection, EmbeddedPostgres } from "@delfos/postgres"
import { PgClient } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Reactivity from "effect/reactivity/Reactivity"
import type * as SqlClient from "effect/sql/SqlClient"
import type { Settings } from "./Settings.ts"

/** One line on which database a command uses. */
export const describe = (settings: Pick<Settings, "databaseUrl" | "dataDir">): string => {
  if (settings.databaseUrl === undefined) {
    return `using the embedded database in ${settings.dataDir}/ (give --database-url or DATABASE_URL for Postgres)`
  }
  // Where it really goes, user and all, as libpq would resolve it; never the password.
  const target = Connection.parse(settings.databaseUrl)
  return `using Postgres at ${Result.isSuccess(target) ? target.success.display : Connection.describe(settings.databaseUrl)}`
}

/** The most connections a command opens, whatever its concurrency: partitions beyond it wait for one. */
export const maxPool = 16

/**
 * How many connections to open for `concurrency` partitions at once: one each and one for the
 * ledger, at most `maxPool`, and never more than the server has free (less a few for others), so a
 * run never fails midway with "too many clients". Says so on `note` when it gives fewer than asked.
 */
const poolSize = (target: Connection.Target, concurrency: number, note: (text: string) => void) =>
  Effect.gen(function* () {
    const wanted = Math.min(concurrency + 1, maxPool)
    // A handful of connections fits any server: only a larger pool is worth a look first.
    if (wanted <= 4) return wanted
    const free = yield* Effect.scoped(
      Effect.gen(function* () {
        const sql = yield* Connection.make(target, { maxConnections: 1 })
        const rows = yield* sql<{ free: number }>`SELECT (current_setting('max_connections')::int
            - current_setting('superuser_reserved_connections')::int
            - (SELECT count(*) FROM pg_stat_activity))::int AS free`
        return rows[0]?.free ?? wanted
      })
    ).pipe(
      Effect.provide(Reactivity.layer),
      Effect.orElseSucceed(() => wanted)
    )
    // Leave a few connections for everyone else; the sink's COPY pool mirrors this one (see `target`).
    const size = Math.max(1, Math.min(wanted, Math.floor((free - 2) / 2)))
    if (size < concurrency + 1) {
      note(
        `${concurrency} partitions at once share ${size} database connection${size === 1 ? "" : "s"}` +
          `${size < wanted ? ` (the server has ${Math.max(free, 0)} free)` : ` (at most ${maxPool})`}\n`
      )
    }
    return size
  })

/** The `SqlClient` for the settings' database; notes about the pool go to `note`. */
export const client = (
  settings: Pick<Settings, "databaseUrl" | "dataDir" | "concurrency">,
  note: (text: string) => void = (text) => process.stderr.write(text)
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, unknown> =>
  settings.databaseUrl !== undefined
    ? Layer.unwrap(
        Effect.gen(function* () {
          const target = yield* Connection.target(settings.databaseUrl!)
          const maxConnections = yield* poolSize(target, settings.concurrency, note)
          return PgClient.layerFrom(Connection.make(target, { maxConnections }))
        })
      )
    : EmbeddedPostgres.layerClient({ dataDir: settings.dataDir })

/** The target's embedded database lives in `<data-dir>/alvo`, the fonte's in `<data-dir>/fonte`. */
const alvo = (settings: Pick<Settings, "databaseUrl" | "dataDir" | "concurrency">) => ({
  ...settings,
  dataDir: `${settings.dataDir}/alvo`
})

/** The target's client: Postgres or the embedded database. */
export const targetClient = (settings: Pick<Settings, "databaseUrl" | "dataDir" | "concurrency">) =>
  client(alvo(settings))

/** One line on stderr saying which target a command uses. */
export const targetNote = (settings: Pick<Settings, "databaseUrl" | "dataDir">): string =>
  describe({ ...settings, dataDir: `${settings.dataDir}/alvo` })

/** The target's layers: the Postgres sink and the run ledger, over the settings' database. */
export const target = (settings: Settings): Layer.Layer<Sink.Sink | Ledger.Ledger, unknown> =>
  // On a Postgres server the sink loads by binary COPY over a pool of its own, as large as the
  // client's and opened only when loads run; on the embedded database by statements (it has no COPY).
  Layer.mergeAll(PostgresSink.layerFromClient({ copy: true }), RunLedger.layerFromClient).pipe(
    Layer.provide(targetClient(settings))
  )

/** The HTTP source, rate-limited when asked. */
export const source = (settings: Pick<Settings, "sourceUrl">, maxRequestsPerSecond?: number | undefined) => {
  const http = HttpSource.layer({ baseUrl: settings.sourceUrl })
  if (maxRequestsPerSecond === undefined) return http
  return Layer.effect(
    Source.Source,
    Effect.gen(function* () {
      return Source.rateLimited(yield* Source.Source, maxRequestsPerSecond)
    })
  ).pipe(Layer.provide(http))
}

/** A command's layers, with this process (`host:pid`) as the runner of the runs it records. */
export const provide =
  <ROut>(settings: Pick<Settings, "runner">, layer: Layer.Layer<ROut, unknown>) =>
  <A, E, R>(program: Effect.Effect<A, E, R>) =>
    program.pipe(Effect.provide(layer), Effect.provideService(Runner.Runner, settings.runner))
