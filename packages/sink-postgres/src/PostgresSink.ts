/**
 * The Postgres `Sink`: a partition's tidy rows written to the alvo schema (`signal`, `data`) in one
 * transaction, serialised with any other load of the same range, leaving exactly the new rows.
 */
import { Ledger, Partition, Sink, type TidyRows } from "@delfos/etl"
import { Connection } from "@delfos/postgres"
import { PgClient, PgTypes } from "@effect/sql-pg"
import { Context, Effect, Layer, Option, Result } from "effect"
import type * as Duration from "effect/Duration"
import type * as Redacted from "effect/Redacted"
import { SqlClient, SqlError } from "effect/sql"
import * as Migrations from "./Migrations.ts"
import * as RunLedger from "./RunLedger.ts"
import * as SignalIds from "./SignalIds.ts"

/**
 * How a load replaces the partition's rows:
 * - `"upsert"` deletes only the rows the new result lacks, inserts new keys and updates changed
 *   values; an unchanged row is not written at all.
 * - `"replace"` deletes every row of the partition's signals in range, then inserts the result.
 */
export type Strategy = "upsert" | "replace"

/** Rows per `INSERT` statement. */
export const defaultBatchSize = 20_000

export interface MakeOptions {
  /** The sink's name in messages; the URL without user and password by default, else `"postgres"`. */
  readonly name?: string | undefined
  /** `"upsert"` by default (see the README for measurements of both). */
  readonly strategy?: Strategy | undefined
  /** Rows per `INSERT` statement; 20,000 by default. */
  readonly batchSize?: number | undefined
}

export interface LayerFromClientOptions extends MakeOptions {
  /** Apply pending migrations when the layer starts; `true` by default. */
  readonly migrate?: boolean | undefined
}

export interface LayerOptions extends LayerFromClientOptions {
  /** `postgres://user:password@host:port/database`, read as libpq reads it; `DATABASE_URL` when absent. */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /** Connections in the pool; 10 by default. */
  readonly maxConnections?: number | undefined
  /** How long to wait for a connection before the sink counts as unavailable; 10 seconds by default. */
  readonly connectTimeout?: Duration.Input | undefined
}

const parameter = (values: ReadonlyArray<unknown>, oid: number): PgTypes.Parameter =>
  Result.getOrThrow(PgTypes.array(values, oid))

const timestamps = (column: Float64Array) => parameter(Array.from(column), PgTypes.OID.timestamptz)
const int4s = (column: Int32Array) => parameter(Array.from(column), PgTypes.OID.int4)
const float8s = (column: Float64Array) => parameter(Array.from(column), PgTypes.OID.float8)

/** Each row's `signal.id`. */
const rowSignalIds = (rows: TidyRows.TidyRows, ids: ReadonlyMap<string, number>): Int32Array => {
  const byIndex = rows.signals.map((signal) => ids.get(signal)!)
  const out = new Int32Array(rows.length)
  for (let i = 0; i < rows.length; i++) out[i] = byIndex[rows.signalIndex[i]!]!
  return out
}

// One advisory lock per range: two loads of the same partition (from any pipeline) take turns
// instead of interleaving their deletes and inserts.
const lockKey = (range: Partition.TimeRange) => `delfos-etl/data/${range.start}/${range.end}`

/** The sink's name from the `PgClient` in context, when there is one with a URL. */
const clientName = Effect.map(Effect.serviceOption(PgClient.PgClient), (client) =>
  Option.isSome(client) && client.value.config.url !== undefined
    ? Connection.describe(client.value.config.url)
    : "postgres"
)

/** A Postgres sink over the `SqlClient` in context; it expects the migrations to have run. */
export const make = (options: MakeOptions = {}): Effect.Effect<Sink.Sink["Service"], never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const name = options.name ?? (yield* clientName)
    const strategy = options.strategy ?? "upsert"
    const batchSize = options.batchSize ?? defaultBatchSize
    const signalIds = SignalIds.make(sql)

    const inRange = (owned: PgTypes.Parameter, range: Partition.TimeRange) =>
      sql`signal_id = ANY(${owned})
        AND timestamp >= ${PgTypes.timestamptz(range.start)} AND timestamp < ${PgTypes.timestamptz(range.end)}`

    // Deletes the rows of the owned signals in range whose key the new rows lack. Returns how many,
    // and whether the range may still hold rows the insert will meet (read before the delete).
    // `NOT IN` over the keys is a hashed subplan whatever the statistics say; `NOT EXISTS` was
    // planned as a nested loop re-running `unnest` per row on a table not yet analysed (a fresh
    // target's second run of a day): 250 ms instead of 1.5 ms for a day's 1,152 rows.
    const deleteStale = (owned: PgTypes.Parameter, range: Partition.TimeRange, keys: Keys) =>
      sql<Cleared>`WITH stale AS (
          DELETE FROM data AS d
          WHERE ${inRange(owned, range)}
            AND (d.timestamp, d.signal_id) NOT IN (
              SELECT * FROM unnest(${keys.timestamps}, ${keys.signalIds}) AS k(timestamp, signal_id))
          RETURNING 1)
        SELECT (SELECT count(*) FROM stale)::int AS deleted,
          EXISTS (SELECT 1 FROM data WHERE ${inRange(owned, range)}) AS occupied`

    // Deletes every row of the owned signals in range. Returns how many of them the new rows lack.
    const deleteAll = (owned: PgTypes.Parameter, range: Partition.TimeRange, keys: Keys) =>
      sql<Cleared>`WITH old AS (
          DELETE FROM data WHERE ${inRange(owned, range)}
          RETURNING signal_id, timestamp)
        SELECT count(*)::int AS deleted, false AS occupied FROM old
        WHERE (old.timestamp, old.signal_id) NOT IN (
          SELECT * FROM unnest(${keys.timestamps}, ${keys.signalIds}) AS k(timestamp, signal_id))`

    // Rows already holding their value are filtered out before the insert: ON CONFLICT would lock
    // (and so write) each of them even when its WHERE then skips the update. The load holds the
    // range's lock, so no other load changes them between the filter and the insert.
    const upsert = (batch: Batch) =>
      sql`INSERT INTO data (timestamp, signal_id, value)
        SELECT n.timestamp, n.signal_id, n.value
        FROM unnest(${batch.timestamps}, ${batch.signalIds}, ${batch.values}) AS n(timestamp, signal_id, value)
        LEFT JOIN data AS d ON d.signal_id = n.signal_id AND d.timestamp = n.timestamp
        WHERE d.value IS DISTINCT FROM n.value
        ON CONFLICT (signal_id, timestamp) DO UPDATE SET value = EXCLUDED.value
        WHERE data.value IS DISTINCT FROM EXCLUDED.value`

    // Into a range that holds none of the owned signals' rows (and is locked): a plain insert skips
    // ON CONFLICT's speculative insertion, a quarter less WAL and time.
    const insert = (batch: Batch) =>
      sql`INSERT INTO data (timestamp, signal_id, value)
        SELECT * FROM unnest(${batch.timestamps}, ${batch.signalIds}, ${batch.values})`

    const write = (request: Sink.LoadRequest): Effect.Effect<Sink.LoadResult, SqlError.SqlError> =>
      Effect.gen(function* () {
        const { range, rows } = request
        if (request.signals.length === 0) return { rowsWritten: 0, rowsDeleted: 0 }
        const ids = yield* signalIds.resolve(request.signals)
        const owned = parameter(
          request.signals.map((signal) => ids.get(signal)!),
          PgTypes.OID.int4
        )
        const rowIds = rowSignalIds(rows, ids)
        const keys: Keys = { timestamps: timestamps(rows.timestamps), signalIds: int4s(rowIds) }
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* sql`SELECT pg_advisory_xact_lock(hashtextextended(${lockKey(range)}, 0))`
            const [cleared] = yield* (strategy === "upsert" ? deleteStale : deleteAll)(owned, range, keys)
            for (let from = 0; from < rows.length; from += batchSize) {
              const to = Math.min(rows.length, from + batchSize)
              const batch: Batch = {
                timestamps: timestamps(rows.timestamps.subarray(from, to)),
                signalIds: int4s(rowIds.subarray(from, to)),
                values: float8s(rows.values.subarray(from, to))
              }
              yield* cleared!.occupied ? upsert(batch) : insert(batch)
            }
            return { rowsWritten: rows.length, rowsDeleted: cleared!.deleted }
          })
        )
      })

    const load = Effect.fn("PostgresSink.load")(function* (request: Sink.LoadRequest) {
      const partition = Partition.format(request.partition)
      // Checked before the database is touched.
      const invalid = Sink.invalidRow(request)
      if (invalid !== undefined) return yield* new Sink.SinkLoadFailed({ sink: name, partition, reason: invalid })
      const failure = (error: SqlError.SqlError) =>
        Connection.isUnreachable(error)
          ? new Sink.SinkUnavailable({ sink: name, reason: Connection.reasonOf(error) })
          : new Sink.SinkLoadFailed({ sink: name, partition, reason: Connection.reasonOf(error) })
      return yield* write(request).pipe(
        Effect.mapError(failure),
        // A connection lost mid-load fails the rollback too, which the SQL client reports as a
        // defect; the server rolled the transaction back all the same: a failure like the others.
        Effect.catchDefect((defect) =>
          SqlError.isSqlError(defect) ? Effect.fail(failure(defect)) : Effect.die(defect)
        )
      )
    })

    return Sink.Sink.of({ name, load })
  })

interface Keys {
  readonly timestamps: PgTypes.Parameter
  readonly signalIds: PgTypes.Parameter
}

interface Cleared {
  readonly deleted: number
  readonly occupied: boolean
}

interface Batch extends Keys {
  readonly values: PgTypes.Parameter
}

// Migrating, or asking for nothing, at start: an unreachable database fails the layer, not the first load.
const prepare = (sink: string, migrate: boolean) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    if (migrate) yield* Migrations.migrate
    else yield* sql`SELECT 1`
  }).pipe(
    Effect.mapError(
      (error) =>
        new Sink.SinkUnavailable({
          sink,
          reason: Connection.isUnreachable(error)
            ? Connection.reasonOf(error)
            : `migrations failed: ${Connection.reasonOf(error)}`
        })
    )
  )

/** A Postgres `Sink` over the `SqlClient` in context, migrations applied first (unless `migrate: false`). */
export const layerFromClient = (
  options: LayerFromClientOptions = {}
): Layer.Layer<Sink.Sink, Sink.SinkUnavailable, SqlClient.SqlClient> =>
  Layer.effect(
    Sink.Sink,
    Effect.gen(function* () {
      const sink = yield* make(options)
      yield* prepare(sink.name, options.migrate ?? true)
      return sink
    })
  )

/**
 * A Postgres `Sink` on a pool of its own at `url` (`DATABASE_URL` when absent), migrations applied
 * first (unless `migrate: false`). The pool closes with the layer. For the run ledger on the same
 * pool, see `layerWithLedger`.
 */
export const layer = (
  options: LayerOptions = {}
): Layer.Layer<Sink.Sink, Sink.SinkUnavailable | Connection.InvalidDatabaseUrl> =>
  onPool(options, ({ sink }) => Context.make(Sink.Sink, sink))

/**
 * A Postgres `Sink` and the run ledger (`RunLedger`, the core's `Ledger`) sharing one pool at `url`
 * (`DATABASE_URL` when absent), migrations applied first (unless `migrate: false`). The pool
 * closes with the layer.
 */
export const layerWithLedger = (
  options: LayerOptions = {}
): Layer.Layer<Sink.Sink | Ledger.Ledger, Sink.SinkUnavailable | Connection.InvalidDatabaseUrl> =>
  onPool(options, ({ ledger, sink }) => Context.make(Sink.Sink, sink).pipe(Context.add(Ledger.Ledger, ledger)))

// The sink and the ledger on a pool of their own, migrated; `services` picks what the layer provides.
const onPool = <A>(
  options: LayerOptions,
  services: (built: { sink: Sink.Sink["Service"]; ledger: Ledger.Ledger["Service"] }) => Context.Context<A>
): Layer.Layer<A, Sink.SinkUnavailable | Connection.InvalidDatabaseUrl> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const target = yield* Connection.targetFrom(options.url).pipe(
        Effect.catchTag("MissingDatabaseUrl", (error) =>
          Effect.fail(new Sink.SinkUnavailable({ sink: "postgres", reason: error.message }))
        )
      )
      const name = options.name ?? target.display
      return Layer.effectContext(
        Effect.gen(function* () {
          const sink = yield* make({ ...options, name })
          yield* prepare(name, options.migrate ?? true)
          const ledger = yield* RunLedger.make
          return services({ sink, ledger })
        })
      ).pipe(
        Layer.provide(
          PgClient.layerFrom(
            Connection.make(target, options).pipe(
              Effect.mapError((error) => new Sink.SinkUnavailable({ sink: name, reason: Connection.reasonOf(error) }))
            )
          )
        )
      )
    })
  )
