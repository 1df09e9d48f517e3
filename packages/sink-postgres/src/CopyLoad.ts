/**
 * The sink's load by binary COPY (`BulkCopy`, a `pg` connection): in one transaction, the
 * partitions' advisory locks, the rows they own deleted (counting those the new rows lack), and
 * the new rows copied straight into `data` in key order. On a Postgres server this writes a fleet's
 * rows several times faster than `INSERT … SELECT FROM unnest(…)`, whose arrays the server parses
 * as text (see BENCHMARKS.md, "The Postgres sink, a fleet").
 */
import type { Partition, TidyRows } from "@delfos/etl"
import type { BulkCopy } from "@delfos/postgres"
import { BulkCopy as Copy } from "@delfos/postgres"
import * as Effect from "effect/Effect"

/** One partition's load: its range, the signal ids it owns there, and its rows with their ids. */
export interface Part {
  readonly range: Partition.TimeRange
  readonly signalIds: ReadonlyArray<number>
  readonly rows: TidyRows.TidyRows
  /** Each row's `signal.id`. */
  readonly rowSignalIds: Int32Array
}

export interface CopyLoad {
  /**
   * Writes the parts in one transaction under the advisory locks `lockKeys` (sorted), leaving for
   * each part's signals in its range exactly its rows. Returns the rows deleted that the new rows
   * do not have, by signal id.
   */
  readonly write: (
    parts: ReadonlyArray<Part>,
    lockKeys: ReadonlyArray<string>
  ) => Effect.Effect<Map<number, number>, BulkCopy.BulkCopyError>
}

// Array literals by hand: `pg` would convert and quote each of tens of thousands of numbers.
const literal = (values: ArrayLike<number>): string => `{${Array.prototype.join.call(values, ",")}}`
const textLiteral = (values: ReadonlyArray<string>): string =>
  `{${values.map((value) => `"${value.replace(/["\\]/g, "\\$&")}"`).join(",")}}`

const iso = (t: number) => new Date(t).toISOString()

// Every statement of a load reads `data` through a few ranges of its primary key. A table that
// grows by COPY faster than autovacuum analyses it looks tiny to the planner, which then scans all
// of it for each load (seen: ~1 s a load 20 M rows into a fleet-year, growing); not here.
const indexOnly = "SET LOCAL enable_seqscan = off"

// In a fixed order, so two batches sharing partitions never wait on each other in a circle.
const lockStatement = `SELECT pg_advisory_xact_lock(hashtextextended(k, 0))
  FROM (SELECT k FROM unnest($1::text[]) AS u(k) ORDER BY k) AS l`

// The rows a batch owns: each part's signals over its range.
const inScope = `SELECT 1 FROM unnest($1::int4[], $2::timestamptz[], $3::timestamptz[]) AS o(signal_id, s, e)
  WHERE d.signal_id = o.signal_id AND d.timestamp >= o.s AND d.timestamp < o.e`

// Whether the owned rows hold anything yet (read under the locks): an empty scope is only copied
// into. And how many of the owned signals exist, locked until the load commits so none is deleted
// under it: `data` has no per-row foreign key (migration 0011), this is the check.
const stateStatement = `SELECT EXISTS (SELECT 1 FROM unnest($1::int4[], $2::timestamptz[], $3::timestamptz[]) AS o(signal_id, s, e)
    WHERE EXISTS (SELECT 1 FROM data AS d WHERE d.signal_id = o.signal_id AND d.timestamp >= o.s AND d.timestamp < o.e)) AS occupied,
  (SELECT count(*) FROM (SELECT 1 FROM signal WHERE id = ANY ($1::int4[]) FOR KEY SHARE) AS s)::int AS signals`

// Deletes every owned row and counts, per signal, those whose key the new rows lack (the new keys
// as microseconds since 1970: exact for any instant a `Date` holds, and of the column's type, which
// is a naive `timestamp` in the reference's tables). `NOT IN` is a hashed subplan.
const deleteStatement = (type: TimestampType) => `WITH old AS (
    DELETE FROM data AS d WHERE EXISTS (${inScope})
    RETURNING d.signal_id, d.timestamp)
  SELECT signal_id, count(*)::int AS deleted FROM old
  WHERE (old.signal_id, old.timestamp) NOT IN (
    SELECT k.signal_id, ${type} 'epoch' + k.us * interval '1 microsecond'
    FROM unnest($4::int4[], $5::int8[]) AS k(signal_id, us))
  GROUP BY signal_id`

/** `data.timestamp`'s type: ours is `timestamptz`; adopted reference tables have a naive one, holding UTC. */
type TimestampType = "timestamptz" | "timestamp"

const timestampTypeStatement = `SELECT format_type(atttypid, NULL) = 'timestamp without time zone' AS naive
  FROM pg_attribute WHERE attrelid = 'data'::regclass AND attname = 'timestamp'`

/** The parts' rows in one set of columns, each part's rows by signal then time: the key's order. */
const keyOrder = (parts: ReadonlyArray<Part>) => {
  const total = parts.reduce((sum, part) => sum + part.rows.length, 0)
  const timestamps = new Float64Array(total)
  const signalIds = new Int32Array(total)
  const values = new Float64Array(total)
  let at = 0
  for (const part of parts) {
    const { rows } = part
    // A counting sort by signal, stable: tidy rows come by time, then signal.
    const starts = new Int32Array(rows.signals.length + 1)
    for (let i = 0; i < rows.length; i++) starts[rows.signalIndex[i]! + 1]!++
    for (let s = 1; s < starts.length; s++) starts[s]! += starts[s - 1]!
    for (let i = 0; i < rows.length; i++) {
      const to = at + starts[rows.signalIndex[i]!]!++
      timestamps[to] = rows.timestamps[i]!
      signalIds[to] = part.rowSignalIds[i]!
      values[to] = rows.values[i]!
    }
    at += rows.length
  }
  return { total, timestamps, signalIds, values }
}

export const make = (bulk: BulkCopy.BulkCopy["Service"]): CopyLoad => {
  // Read on the first load: a migration may adopt or change the table before it.
  let timestampType: TimestampType | undefined
  return {
    write: (parts, lockKeys) =>
      Effect.scoped(
        Effect.gen(function* () {
          const session = yield* bulk.session
          if (timestampType === undefined) {
            const [column] = yield* session.query<{ naive: boolean }>(timestampTypeStatement)
            timestampType = column?.naive === true ? "timestamp" : "timestamptz"
          }
          const type = timestampType
          const rows = keyOrder(parts)
          const scope = [
            literal(parts.flatMap((part) => part.signalIds)),
            textLiteral(parts.flatMap((part) => part.signalIds.map(() => iso(part.range.start)))),
            textLiteral(parts.flatMap((part) => part.signalIds.map(() => iso(part.range.end))))
          ]
          return yield* session.transaction(
            Effect.gen(function* () {
              yield* session.query(indexOnly)
              yield* session.query(lockStatement, [textLiteral(lockKeys)])
              const [state] = yield* session.query<{ occupied: boolean; signals: number }>(stateStatement, scope)
              const owned = new Set(parts.flatMap((part) => part.signalIds)).size
              if (state!.signals !== owned) {
                return yield* new Copy.BulkCopyError({
                  operation: "query",
                  table: "data",
                  reason: `${owned - state!.signals} of the load's ${owned} signals no longer exist in signal`
                })
              }
              const deleted = new Map<number, number>()
              if (state!.occupied) {
                const micros = new Float64Array(rows.total)
                for (let i = 0; i < rows.total; i++) micros[i] = Math.round(rows.timestamps[i]! * 1000)
                const cleared = yield* session.query<{ signal_id: number; deleted: number }>(deleteStatement(type), [
                  ...scope,
                  literal(rows.signalIds),
                  literal(micros)
                ])
                for (const row of cleared) deleted.set(row.signal_id, row.deleted)
              }
              if (rows.total > 0) {
                yield* session.copyIn(
                  "data",
                  Copy.batch(rows.total, [
                    type === "timestamp"
                      ? Copy.timestamp("timestamp", rows.timestamps)
                      : Copy.timestamptz("timestamp", rows.timestamps),
                    Copy.int4("signal_id", rows.signalIds),
                    Copy.float8("value", rows.values)
                  ])
                )
              }
              return deleted
            })
          )
        })
      )
  }
}
