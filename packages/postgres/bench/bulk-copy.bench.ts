/**
 * Bulk writes of sensor rows (turbine, timestamptz, three float8) into a table keyed by
 * (turbine, timestamp): `BulkCopy` against `INSERT … SELECT FROM unnest`. Needs a Postgres:
 * DATABASE_URL (a server URL; the bench creates and drops its own database), default
 * postgres://postgres@127.0.0.1:5432/postgres. Run: `npm run bench -w @delfos/postgres`
 * (`-- --turbines 100 --days 30` for more rows).
 */
import { randomBytes } from "node:crypto"
import { loadavg } from "node:os"
import { parseArgs } from "node:util"
import { PgClient, PgTypes } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as SqlClient from "effect/sql/SqlClient"
import * as BulkCopy from "../src/BulkCopy.ts"

const { values: flags } = parseArgs({
  options: { turbines: { type: "string", default: "10" }, days: { type: "string", default: "30" } }
})
const turbines = Number(flags.turbines)
const days = Number(flags.days)
const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const name = `delfos_bench_bulk_${randomBytes(4).toString("hex")}`
const url = new URL(admin)
url.pathname = `/${name}`

const onServer = (statement: string) =>
  Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement)).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(admin), maxConnections: 1 }))
    )
  )

// A turbine-day of samples: minutes, and values that look like a sensor's (two decimals, a few missing).
const start = Date.UTC(2023, 0, 1)
const day = (turbine: number, d: number) => {
  const timestamps = Float64Array.from({ length: 1440 }, (_, m) => start + d * 86_400_000 + m * 60_000)
  const value = (scale: number) =>
    Float64Array.from({ length: 1440 }, (_, m) =>
      (m * 7 + turbine) % 500 === 0 ? Number.NaN : Math.round(Math.random() * scale * 100) / 100
    )
  return { turbine, timestamps, wind: value(25), power: value(5000), temperature: value(30) }
}
const turbineDays = Array.from({ length: turbines }, (_, t) =>
  Array.from({ length: days }, (_, d) => day(t + 1, d))
).flat()
const rows = turbineDays.length * 1440

const table = (name: string) =>
  `CREATE TABLE ${name} (timestamp timestamptz NOT NULL, wind_speed float8, power float8,
    ambient_temperature float8, turbine integer NOT NULL, PRIMARY KEY (turbine, timestamp))`

const batches = Stream.fromIterable(turbineDays).pipe(
  Stream.map((d) =>
    BulkCopy.batch(1440, [
      BulkCopy.int4("turbine", d.turbine),
      BulkCopy.timestamptz("timestamp", d.timestamps),
      BulkCopy.float8("wind_speed", d.wind),
      BulkCopy.float8("power", d.power),
      BulkCopy.float8("ambient_temperature", d.temperature)
    ])
  )
)

const float8s = (arrays: ReadonlyArray<Float64Array>) =>
  Result.getOrThrow(
    PgTypes.array(
      arrays.flatMap((values) => [...values].map((v) => (Number.isNaN(v) ? null : v))),
      PgTypes.OID.float8
    )
  )

const results: Array<[string, string]> = []
const time = async (label: string, work: () => Promise<unknown>) => {
  const started = performance.now()
  await work()
  const ms = performance.now() - started
  results.push([label, `${(ms / 1000).toFixed(2)} s, ${Math.round((rows / ms) * 1000).toLocaleString("en-US")} rows/s`])
}

await onServer(`CREATE DATABASE "${name}"`)
try {
  const withSql = <A>(effect: Effect.Effect<A, unknown, SqlClient.SqlClient>) =>
    Effect.runPromise(
      effect.pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url.href), maxConnections: 1 })), Effect.scoped)
    )
  const withBulk = <A>(effect: Effect.Effect<A, unknown, BulkCopy.BulkCopy>) =>
    Effect.runPromise(effect.pipe(Effect.provide(BulkCopy.layer(url.href))))
  const statement = (sql: string) => withSql(Effect.flatMap(SqlClient.SqlClient, (client) => client.unsafe(sql)))

  await statement(table("copied"))
  await statement("CHECKPOINT")
  await time("BulkCopy into the keyed table, turbine by turbine", () => withBulk(BulkCopy.copyIn("copied", batches)))
  await statement(table("unkeyed").replace(", PRIMARY KEY (turbine, timestamp)", ""))
  await statement("CHECKPOINT")
  await time("BulkCopy into the same table without its key", () => withBulk(BulkCopy.copyIn("unkeyed", batches)))

  await statement(table("inserted"))
  await statement("CHECKPOINT")
  // The fonte's former seed: 50,000 rows a statement, bound as arrays, upserted.
  await time("INSERT … SELECT FROM unnest … ON CONFLICT DO UPDATE, 50,000 rows a statement", () =>
    withSql(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const perStatement = Math.floor(50_000 / 1440)
        for (let i = 0; i < turbineDays.length; i += perStatement) {
          const part = turbineDays.slice(i, i + perStatement)
          const turbine = Result.getOrThrow(
            PgTypes.array(
              part.flatMap((d) => Array(1440).fill(d.turbine)),
              PgTypes.OID.int4
            )
          )
          yield* sql`INSERT INTO inserted (turbine, timestamp, wind_speed, power, ambient_temperature)
            SELECT t, to_timestamp(ms / 1000.0), w, p, a
            FROM unnest(${turbine}, ${float8s(part.map((d) => d.timestamps))}, ${float8s(part.map((d) => d.wind))},
              ${float8s(part.map((d) => d.power))}, ${float8s(part.map((d) => d.temperature))}) AS u(t, ms, w, p, a)
            ON CONFLICT (turbine, timestamp) DO UPDATE SET wind_speed = EXCLUDED.wind_speed,
              power = EXCLUDED.power, ambient_temperature = EXCLUDED.ambient_temperature`
        }
      })
    )
  )

  // Idempotent loads of rows already there: delete then copy, or copy to a staging table then merge.
  await time("again: DELETE the range, then BulkCopy, one transaction", () =>
    withBulk(
      Effect.scoped(
        Effect.gen(function* () {
          const session = yield* Effect.flatMap(BulkCopy.BulkCopy, (bulk) => bulk.session)
          yield* session.transaction(
            Effect.andThen(session.query("DELETE FROM copied"), session.copyIn("copied", batches))
          )
        })
      )
    )
  )
  await time("again: BulkCopy into a staging table, then INSERT … ON CONFLICT DO UPDATE", () =>
    withBulk(
      Effect.scoped(
        Effect.gen(function* () {
          const session = yield* Effect.flatMap(BulkCopy.BulkCopy, (bulk) => bulk.session)
          yield* session.transaction(
            Effect.gen(function* () {
              yield* session.query("CREATE TEMP TABLE staging (LIKE copied) ON COMMIT DROP")
              yield* session.copyIn("staging", batches)
              yield* session.query(`INSERT INTO copied SELECT * FROM staging ON CONFLICT (turbine, timestamp)
                DO UPDATE SET wind_speed = EXCLUDED.wind_speed, power = EXCLUDED.power,
                ambient_temperature = EXCLUDED.ambient_temperature`)
            })
          )
        })
      )
    )
  )
} finally {
  await onServer(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
}

console.log(
  `${rows.toLocaleString("en-US")} rows (${turbines} turbines × ${days} days), load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}, Postgres at ${new URL(admin).host}\n`
)
console.log("| write | time, rate |")
console.log("|---|---:|")
for (const [label, value] of results) console.log(`| ${label} | ${value} |`)
