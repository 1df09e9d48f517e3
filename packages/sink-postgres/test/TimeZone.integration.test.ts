/**
 * A target database whose TimeZone is not UTC, with our schema (timestamptz) and with the
 * reference's (naive `timestamp`): windows land at their UTC instants either way, and `migrate`
 * says what it adopted.
 */
import { Ledger, Partition, Sink } from "@delfos/etl"
import { TestDatabase } from "@delfos/test-utils"
import { PgClient } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as SqlClient from "effect/sql/SqlClient"
import { afterEach, describe, expect, it } from "vitest"
import { Migrations, PostgresSink } from "../src/index.ts"
import { expectedRows, minuteFrame, request } from "./helpers.ts"

const zone = "America/Sao_Paulo"
const partition = Partition.makeUnsafe("2024-01-01")

// The reference's own schema, as its migrations create it.
const referenceSchema = [
  "CREATE TABLE signal (id serial PRIMARY KEY, name varchar NOT NULL UNIQUE)",
  `CREATE TABLE data (timestamp timestamp NOT NULL, signal_id int NOT NULL REFERENCES signal (id),
    value float8, PRIMARY KEY (timestamp, signal_id))`
]

let database: TestDatabase.Handle | undefined
afterEach(async () => {
  await database?.release()
  database = undefined
})

/** A fresh database whose own TimeZone setting is `zone`, with `statements` run on it. */
const zonedDatabase = async (statements: ReadonlyArray<string>) => {
  database = await TestDatabase.acquire()
  const name = decodeURIComponent(new URL(database.url).pathname.slice(1))
  await TestDatabase.query(database.url, `ALTER DATABASE "${name}" SET timezone TO '${zone}'`)
  for (const statement of statements) await TestDatabase.query(database.url, statement)
  return database
}

/**
 * Runs `statement` in a session that takes the database's own TimeZone, as psql or the reference's
 * ETL would: no UTC startup parameter.
 */
const inDatabaseZone = <A extends object>(url: string, statement: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return yield* sql.unsafe<A>(statement)
    }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })), Effect.scoped)
  )

const load = (url: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sink = yield* Sink.Sink
      const ledger = yield* Ledger.Ledger
      const rows = expectedRows(minuteFrame("2024-01-01T00:00:00Z", 1), partition)
      yield* ledger.start("tz", [partition], "test")
      yield* sink.load(request(partition, rows))
      return { rows }
    }).pipe(Effect.provide(PostgresSink.layerWithLedger({ url, maxConnections: 2 })), Effect.scoped)
  )

describe(`a target whose database TimeZone is ${zone}`, () => {
  for (const schema of ["ours (timestamptz)", "the reference's (naive timestamp)"] as const) {
    it.skipIf(TestDatabase.onPglite)(
      `${schema}: windows are stored at their UTC instants, 00:00 to 23:50 [skipped on PGlite: its one backend has no per-database TimeZone]`,
      async () => {
        const db = await zonedDatabase(schema.startsWith("ours") ? [] : referenceSchema)
        const [session] = await inDatabaseZone<{ TimeZone: string }>(db.url, "SHOW TimeZone")
        expect(session!.TimeZone).toBe(zone)
        const { rows } = await load(db.url)
        // Nominal epoch seconds of the stored values: the instant itself for timestamptz, the wall
        // clock read as UTC for a naive column. Either way 2024-01-01 00:00 and 23:50 UTC.
        const [range] = await inDatabaseZone<{ first: number; last: number; count: number }>(
          db.url,
          `SELECT extract(epoch FROM min(timestamp))::float8 AS first, extract(epoch FROM max(timestamp))::float8 AS last,
          count(*)::int AS count FROM data`
        )
        expect(range).toEqual({
          first: Date.parse("2024-01-01T00:00:00Z") / 1000,
          last: Date.parse("2024-01-01T23:50:00Z") / 1000,
          count: rows.length
        })
        if (schema.startsWith("the reference")) {
          // What the issue's `psql -c "select min(timestamp), max(timestamp) from data"` shows.
          const [text] = await inDatabaseZone<{ first: string; last: string }>(
            db.url,
            "SELECT min(timestamp)::text AS first, max(timestamp)::text AS last FROM data"
          )
          expect(text).toEqual({ first: "2024-01-01 00:00:00", last: "2024-01-01 23:50:00" })
        }
      }
    )
  }

  it("migrate adopts the reference's tables and says that their naive timestamps are UTC", async () => {
    const db = await zonedDatabase(referenceSchema)
    const report = await Effect.runPromise(
      Migrations.run.pipe(
        Effect.provide(PgClient.layer({ url: Redacted.make(db.url), maxConnections: 1 })),
        Effect.scoped
      )
    )
    expect(report.applied.map(([id]) => id)).toContain(1)
    expect(report.notes).toEqual([
      "adopted the existing tables data and signal, kept as they are",
      expect.stringContaining("data.timestamp is timestamp without time zone")
    ])
    // The tables are the reference's still: naive timestamps, its key.
    const [column] = await TestDatabase.query<{ type: string }>(
      db.url,
      "SELECT data_type AS type FROM information_schema.columns WHERE table_name = 'data' AND column_name = 'timestamp'"
    )
    expect(column!.type).toBe("timestamp without time zone")
  })

  it("migrate on our own schema adopts nothing and notes nothing", async () => {
    const db = await zonedDatabase([])
    const report = await Effect.runPromise(
      Migrations.run.pipe(
        Effect.provide(PgClient.layer({ url: Redacted.make(db.url), maxConnections: 1 })),
        Effect.scoped
      )
    )
    expect(report.applied.length).toBeGreaterThan(0)
    expect(report.notes).toEqual([])
  })
})
