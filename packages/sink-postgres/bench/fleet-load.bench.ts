/**
 * Loading a fleet's tidy rows as the pipeline does: each day's turbines in batches of `--batch`
 * (25), one `loadBatch` per batch (25 turbines × 144 windows × 8 signals = 28,800 rows), for
 * `--turbines` (100) turbines over `--days` (10) days: into an empty table, again with every row
 * identical, again with every value changed. Each write path in a database of its own: the `pg`
 * COPY path (`BulkCopy`, what `PostgresSink.layer` picks on a Postgres server) and the unnest
 * statements (`make` without `bulkCopy`, the embedded database's path), each with both strategies.
 * Prints rows per second, and the CPU a row cost the Postgres backends and this process (read from
 * `/proc`, so only when the server runs on this machine).
 *
 * Needs a Postgres: DATABASE_URL (a server URL; the bench creates and drops its own databases),
 * default postgres://postgres@127.0.0.1:5432/postgres.
 * Run: `npm run bench:fleet -w @delfos/etl-sink-postgres` (`-- --days 30 --concurrency 2`,
 * `-- --paths copy-upsert,unnest-upsert`; `-- --foreign-key` puts back the foreign key from `data`
 * to `signal` that migration 0011 drops, as the schema was before it).
 */
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { parseArgs } from "node:util"
import { Asset, Partition, Resample, SampleFrame, Signal, type Sink, Unpivot } from "@delfos/etl"
import { BulkCopy, Connection } from "@delfos/postgres"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as Migrations from "../src/Migrations.ts"
import * as PostgresSink from "../src/PostgresSink.ts"

const { values: flags } = parseArgs({
  options: {
    turbines: { type: "string", default: "100" },
    days: { type: "string", default: "10" },
    batch: { type: "string", default: "25" },
    concurrency: { type: "string", default: "1" },
    paths: { type: "string", default: "copy-upsert,copy-replace,unnest-upsert,unnest-replace" },
    // The schema before migration 0011: data's per-row foreign key to signal put back.
    "foreign-key": { type: "boolean", default: false }
  }
})
const turbines = Number(flags.turbines)
const days = Number(flags.days)
const batchSize = Number(flags.batch)
const concurrency = Number(flags.concurrency)
const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

const onServer = (url: string, statement: string) =>
  Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement)).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }))
    )
  )

/** `days` days of minute samples of wind speed and power for one turbine, SCADA-like, 0.5% missing. */
const turbineFrame = (seed: number): SampleFrame.SampleFrame => {
  const minutes = days * 1440
  let state = seed
  const random = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
    return state / 4_294_967_296
  }
  const start = Date.UTC(2023, 0, 1)
  const timestamps = Float64Array.from({ length: minutes }, (_, i) => start + i * 60_000)
  const wind = new Float64Array(minutes)
  const power = new Float64Array(minutes)
  let gust = 0
  for (let i = 0; i < minutes; i++) {
    gust = 0.95 * gust + 0.6 * (random() - 0.5)
    wind[i] = Math.max(0, 7 + 2 * Math.sin(((i % 1440) / 1440) * 2 * Math.PI) + 4 * gust)
    power[i] = wind[i]! < 3 || wind[i]! > 25 ? 0 : wind[i]! >= 12 ? 5000 : 5000 * ((wind[i]! - 3) / 9) ** 3
    if (random() < 0.005) wind[i] = Number.NaN
    if (random() < 0.005) power[i] = Number.NaN
  }
  return SampleFrame.make(timestamps, { wind_speed: wind, power })
}

/** The batches the pipeline would load: per day, the turbines in groups of `batchSize`. */
const makeBatches = (): Array<Array<Sink.LoadRequest>> => {
  const assets = Array.from({ length: turbines }, (_, k) => Asset.AssetId.make(`WTG${String(k + 1).padStart(3, "0")}`))
  const frames = assets.map((_, k) => turbineFrame(k + 1))
  const out: Array<Array<Sink.LoadRequest>> = []
  const first = Partition.Day.make("2023-01-01")
  for (let d = 0; d < days; d++) {
    const day = Partition.addDays(first, d)
    for (let from = 0; from < turbines; from += batchSize) {
      out.push(
        assets.slice(from, from + batchSize).map((asset, i) => {
          const partition = Partition.makeUnsafe(day, "UTC", asset)
          const range = Partition.range(partition)
          const windows = Resample.resample(frames[from + i]!, { range, asset, variables: Signal.defaultVariables })
          return {
            pipeline: "bench",
            partition,
            range,
            signals: Unpivot.signalsOf(windows),
            rows: Unpivot.unpivot(windows)
          }
        })
      )
    }
  }
  return out
}

const batches = makeBatches()
const changed = batches.map((batch) =>
  batch.map((request) => ({ ...request, rows: { ...request.rows, values: request.rows.values.map((v) => v + 1) } }))
)
const totalRows = batches.flat().reduce((total, request) => total + request.rows.length, 0)

/** CPU seconds of a process (user + system), from `/proc`; 0 when it cannot be read. */
const processCpu = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}
const ownCpu = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1e6
}

interface Measure {
  readonly path: string
  readonly label: string
  readonly seconds: number
  readonly serverCpu: number
  readonly clientCpu: number
  readonly walBytes: number
}

const measure = (path: string, url: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* Migrations.migrate
    if (flags["foreign-key"]) {
      yield* sql`ALTER TABLE data ADD CONSTRAINT data_signal_id_fkey FOREIGN KEY (signal_id) REFERENCES signal (id)`
    }
    const [kind, strategy] = path.split("-") as ["copy" | "unnest", PostgresSink.Strategy]
    const bulkCopy =
      kind === "copy" ? yield* BulkCopy.make(yield* Connection.target(url), { maxConnections: concurrency }) : undefined
    const sink = yield* PostgresSink.make({ strategy, bulkCopy })
    const database = new URL(url).pathname.slice(1)
    const backends = Effect.map(
      sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = ${database}`,
      (rows) => new Map(rows.map((row) => [row.pid, processCpu(row.pid)]))
    )
    const walPosition = Effect.map(
      sql<{ lsn: string }>`SELECT pg_current_wal_lsn()::text AS lsn`,
      (rows) => rows[0]!.lsn
    )
    const out: Array<Measure> = []
    const run = (label: string, input: Array<Array<Sink.LoadRequest>>) =>
      Effect.gen(function* () {
        yield* sql`CHECKPOINT`
        const before = yield* backends
        const walBefore = yield* walPosition
        const clientBefore = ownCpu()
        const started = performance.now()
        yield* Effect.forEach(input, (batch) => sink.loadBatch!(batch), { concurrency, discard: true })
        const seconds = (performance.now() - started) / 1000
        const clientCpu = ownCpu() - clientBefore
        const after = yield* backends
        let serverCpu = 0
        for (const [pid, cpu] of after) serverCpu += cpu - (before.get(pid) ?? 0)
        const [wal] = yield* sql<{
          bytes: number
        }>`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ${walBefore}::pg_lsn)::float8 AS bytes`
        const [count] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM data`
        if (count!.n !== totalRows) throw new Error(`${path} ${label}: ${count!.n} rows stored, ${totalRows} expected`)
        out.push({ path, label, seconds, serverCpu, clientCpu, walBytes: wal!.bytes })
      })
    // Signals created and the sessions opened before the clock starts, as in a running pipeline.
    yield* sink.loadBatch!(batches[0]!)
    yield* sql`TRUNCATE data`
    yield* sql`VACUUM ANALYZE data`
    yield* run("into an empty table", batches)
    yield* run("again, every row identical", batches)
    yield* run("again, every value changed", changed)
    return out
  }).pipe(Effect.scoped)

const results: Array<Measure> = []
for (const path of flags.paths.split(",")) {
  const name = `delfos_bench_fleet_${randomBytes(4).toString("hex")}`
  await onServer(admin, `CREATE DATABASE ${name}`)
  const url = new URL(admin)
  url.pathname = `/${name}`
  try {
    results.push(
      ...(await Effect.runPromise(
        measure(path, url.href).pipe(
          Effect.provide(
            PgClient.layer({
              url: Redacted.make(url.href),
              maxConnections: concurrency + 1,
              startupParameters: Connection.sessionParameters
            })
          )
        )
      ))
    )
  } finally {
    await onServer(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
}

console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}, load average ${loadavg()[0]!.toFixed(1)}, ` +
    `Postgres at ${new URL(admin).host}; ${turbines} turbines x ${days} days in batches of ${batchSize} ` +
    `(${batches.length} batches, ${concurrency} at once), ${totalRows.toLocaleString("en")} rows` +
    `${flags["foreign-key"] ? ", with data's foreign key to signal" : ""}\n`
)
console.log("| path | load | seconds | rows/s | Postgres CPU a row | client CPU a row | WAL |")
console.log("|---|---|---:|---:|---:|---:|---:|")
for (const m of results) {
  console.log(
    `| ${m.path} | ${m.label} | ${m.seconds.toFixed(2)} | ${Math.round(totalRows / m.seconds).toLocaleString("en")} | ` +
      `${((m.serverCpu * 1e6) / totalRows).toFixed(2)} µs | ${((m.clientCpu * 1e6) / totalRows).toFixed(2)} µs | ` +
      `${(m.walBytes / 2 ** 20).toFixed(0)} MiB |`
  )
}
