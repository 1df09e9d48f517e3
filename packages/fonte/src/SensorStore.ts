/**
 * The fonte's database: table `data`, one row per timestamp, under versioned migrations. Writes
 * are bulk upserts (seeding a day twice updates it instead of doubling it); reads come in pages
 * by keyset, so a range of any length is served holding one page at a time.
 */
import { type SampleFrame, Signal, Timestamp } from "@delfos/etl"
import { PgTypes } from "@effect/sql-pg"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"

/** The fonte's schema, one migration per version. */
export const migrations = {
  "0001_create_data": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE IF NOT EXISTS data (
      timestamp timestamptz PRIMARY KEY,
      wind_speed double precision,
      power double precision,
      ambient_temperature double precision
    )`
  })
}

/** Runs the migrations that have not run yet (tracked in `fonte_migrations`). */
export const migrate = Migrator.make({})({
  loader: Migrator.fromRecord(migrations),
  table: "fonte_migrations"
})

/** A stored row: epoch ms and a value or `null` per variable (`Signal.knownVariables`, the table's columns). */
export interface StoredRow {
  readonly t: number
  readonly [variable: Signal.Variable]: number | null
}

export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  reason: Schema.String
}) {}

// The table's value columns are the fonte API's variables, in its order (migration 0001). They are
// lowercase identifiers (`Signal.Variable`), so they go into SQL as they are.
const columns = Signal.knownVariables

/** Rows per page when streaming a range: a page is ~1 MB of JSON. */
export const pageSize = 10_000

// Postgres caps a statement's parameters, not an array's length; still, one statement per
// ~50k rows keeps a transaction's memory modest.
const writeBatch = 50_000

const float8Array = (values: Float64Array, from: number, to: number) => {
  const out: Array<number | null> = new Array(to - from)
  for (let i = from; i < to; i++) out[i - from] = Number.isNaN(values[i]!) ? null : values[i]!
  return Result.getOrThrow(PgTypes.array(out, PgTypes.OID.float8))
}

export class SensorStore extends Context.Service<
  SensorStore,
  {
    /** Inserts or updates the frame's samples (one row per timestamp). Returns the rows written. */
    readonly upsert: (frame: SampleFrame.SampleFrame) => Effect.Effect<number, SqlError.SqlError>
    /** The rows with `start <= timestamp <= end` (both inclusive), in time order, a page at a time. */
    readonly range: (start: number, end: number) => Stream.Stream<ReadonlyArray<StoredRow>, SqlError.SqlError>
    readonly count: Effect.Effect<number, SqlError.SqlError>
  }
>()("@delfos/fonte/SensorStore") {
  /** The store over the `SqlClient` in context, migrations run first. */
  static readonly layer = Layer.effect(
    SensorStore,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* migrate.pipe(Effect.mapError((error) => new StoreError({ reason: `migrations failed: ${error.message}` })))

      const columnList = sql.csv(columns)
      const updates = sql.csv(columns.map((name) => `${name} = EXCLUDED.${name}`))

      const upsert = Effect.fn("SensorStore.upsert")(function* (frame: SampleFrame.SampleFrame) {
        const missing = new Float64Array(frame.length).fill(Number.NaN)
        let written = 0
        for (let from = 0; from < frame.length; from += writeBatch) {
          const to = Math.min(frame.length, from + writeBatch)
          const arrays = [frame.timestamps, ...columns.map((name) => frame.columns[name] ?? missing)].map(
            (values) => sql`${float8Array(values, from, to)}`
          )
          yield* sql`INSERT INTO data (timestamp, ${columnList})
            SELECT to_timestamp(t / 1000.0), ${columnList}
            FROM unnest(${sql.csv(arrays)}) AS u(t, ${columnList})
            ON CONFLICT (timestamp) DO UPDATE SET ${updates}`
          written += to - from
        }
        return written
      })

      const page = (start: number, end: number, after: number | undefined) =>
        sql<StoredRow>`SELECT (extract(epoch FROM timestamp) * 1000)::float8 AS t, ${columnList}
          FROM data
          WHERE timestamp >= to_timestamp(${start} / 1000.0) AND timestamp <= to_timestamp(${end} / 1000.0)
          ${after === undefined ? sql`` : sql`AND timestamp > to_timestamp(${after} / 1000.0)`}
          ORDER BY timestamp
          LIMIT ${pageSize}`

      const range = (start: number, end: number) =>
        Stream.paginate(undefined as number | undefined, (after) =>
          Effect.map(page(start, end, after), (rows) => {
            const last = rows[rows.length - 1]
            const next = rows.length === pageSize && last !== undefined ? Option.some(last.t) : Option.none()
            return [[rows], next] as const
          })
        ).pipe(
          Stream.filter((rows) => rows.length > 0),
          // Fetch the next page while the current one is being written out.
          Stream.buffer({ capacity: 1 })
        )

      const count = Effect.map(sql<{ n: number }>`SELECT count(*)::int AS n FROM data`, (rows) => rows[0]?.n ?? 0)

      return SensorStore.of({ upsert, range, count })
    })
  )
}

/** A stored row in the fonte's JSON form: every variable present, `null` where missing or not selected. */
export const rowJson = (row: StoredRow, selected: ReadonlyArray<Signal.Variable>): string => {
  let json = `{"timestamp":"${Timestamp.formatNaive(row.t)}"`
  for (const name of columns) {
    const value = selected.includes(name) ? row[name] : null
    json += `,"${name}":${value === null || value === undefined ? "null" : String(value)}`
  }
  return `${json}}`
}
