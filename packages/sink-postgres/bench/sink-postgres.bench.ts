/**
 * Loading a year of tidy rows (365 daily partitions × 2 variables × 4 statistics × 144 windows)
 * with both load strategies: into an empty table, again with every row identical, again with every
 * value changed; one partition at a time and four at once. Prints rows per second and the WAL
 * each case wrote. Needs a Postgres: DATABASE_URL (a server URL; the bench creates and drops its
 * own databases), default postgres://postgres@127.0.0.1:5432/postgres.
 * Run: `npm run bench -w @delfos/etl-sink-postgres`.
 */
import { cpus } from "node:os"
import { Partition, Resample, SampleFrame, Signal, type Sink, Unpivot } from "@delfos/etl"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as Migrations from "../src/Migrations.ts"
import * as PostgresSink from "../src/PostgresSink.ts"

const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

const onServer = (url: string, statement: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(statement)
    }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })))
  )

/** A year of minute samples of wind speed and power from 2023-01-01, SCADA-like, 0.5% missing. */
const makeYear = (seed: number): SampleFrame.SampleFrame => {
  const minutes = 525_600
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

/** The load request of each day of 2023, as the pipeline would make it. */
const yearOfRequests = (frame: SampleFrame.SampleFrame): Array<Sink.LoadRequest> =>
  Partition.days(Partition.Day.make("2023-01-01"), Partition.Day.make("2023-12-31")).map((day) => {
    const partition = Partition.makeUnsafe(day)
    const range = Partition.range(partition)
    const windows = Resample.resample(frame, { range, variables: Signal.defaultVariables })
    return {
      pipeline: "bench",
      partition,
      range,
      signals: Unpivot.signalsOf(windows),
      rows: Unpivot.unpivot(windows)
    }
  })

/** The same requests with every value changed. */
const changed = (requests: Array<Sink.LoadRequest>) =>
  requests.map((request) => ({ ...request, rows: { ...request.rows, values: request.rows.values.map((v) => v + 1) } }))

const year = yearOfRequests(makeYear(42))
const yearChanged = changed(year)
const totalRows = year.reduce((total, request) => total + request.rows.length, 0)

interface Measure {
  readonly strategy: PostgresSink.Strategy
  readonly concurrency: number
  readonly label: string
  readonly seconds: number
  readonly walBytes: number
}

const measure = (strategy: PostgresSink.Strategy) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* Migrations.migrate
    const sink = yield* PostgresSink.make({ strategy })
    const out: Array<Measure> = []
    const walPosition = Effect.map(
      sql<{ lsn: string }>`SELECT pg_current_wal_lsn()::text AS lsn`,
      (rows) => rows[0]!.lsn
    )
    const run = (label: string, requests: Array<Sink.LoadRequest>, concurrency: number) =>
      Effect.gen(function* () {
        const walBefore = yield* walPosition
        const started = performance.now()
        const results = yield* Effect.forEach(requests, (request) => sink.load(request), { concurrency })
        const seconds = (performance.now() - started) / 1000
        const [wal] = yield* sql<{
          bytes: number
        }>`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ${walBefore}::pg_lsn)::float8 AS bytes`
        const [count] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM data`
        if (count!.n !== totalRows)
          throw new Error(`${strategy} ${label}: ${count!.n} rows stored, ${totalRows} expected`)
        if (results.some((result) => result.rowsDeleted !== 0)) throw new Error(`${strategy} ${label}: stale rows`)
        out.push({ strategy, concurrency, label, seconds, walBytes: wal!.bytes })
      })
    for (const concurrency of [1, 4]) {
      yield* sql`TRUNCATE data`
      yield* sql`VACUUM data`
      yield* run("into an empty table", year, concurrency)
      yield* run("again, every row identical", year, concurrency)
      yield* run("again, every value changed", yearChanged, concurrency)
    }
    return out
  })

const results: Array<Measure> = []
for (const strategy of (process.env.STRATEGIES ?? "upsert,replace").split(",") as Array<PostgresSink.Strategy>) {
  const name = `delfos_bench_sink_${strategy}_${process.pid}`
  await onServer(admin, `CREATE DATABASE ${name}`)
  const url = new URL(admin)
  url.pathname = `/${name}`
  try {
    results.push(
      ...(await Effect.runPromise(
        measure(strategy).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url.href), maxConnections: 4 })))
      ))
    )
  } finally {
    await onServer(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
}

console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}, Postgres at ${new URL(admin).host}; ` +
    `${year.length} partitions, ${totalRows.toLocaleString("en")} rows\n`
)
console.log("| strategy | partitions at once | load | seconds | rows/s | WAL written |")
console.log("|---|---:|---|---:|---:|---:|")
for (const m of results) {
  console.log(
    `| ${m.strategy} | ${m.concurrency} | ${m.label} | ${m.seconds.toFixed(2)} | ` +
      `${Math.round(totalRows / m.seconds).toLocaleString("en")} | ${(m.walBytes / 2 ** 20).toFixed(0)} MiB |`
  )
}
