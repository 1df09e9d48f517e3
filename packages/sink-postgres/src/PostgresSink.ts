/**
 * The Postgres `Sink`: a partition's tidy rows written to the alvo schema (`signal`, `data`) in one
 * transaction, serialised with any other load of the same range, leaving exactly the new rows.
 * On a Postgres server the rows go by binary COPY (`CopyLoad`, over `BulkCopy`); on the embedded
 * database, which has no COPY, by `INSERT … SELECT FROM unnest(…)` statements.
 */
import { type Asset, Ledger, Partition, Sink, type TidyRows } from "@delfos/etl"
import { BulkCopy, Connection } from "@delfos/postgres"
import { PgClient, PgTypes } from "@effect/sql-pg"
import { Context, Effect, Layer, Option, Result } from "effect"
import type * as Duration from "effect/Duration"
import type * as Redacted from "effect/Redacted"
import { SqlClient, SqlError } from "effect/sql"
import * as CopyLoad from "./CopyLoad.ts"
import * as Migrations from "./Migrations.ts"
import * as RunLedger from "./RunLedger.ts"
import * as SignalIds from "./SignalIds.ts"

/**
 * How a load replaces the partition's rows with the unnest statements (the embedded database, or
 * a sink without `bulkCopy`):
 * - `"upsert"` deletes only the rows the new result lacks, inserts new keys and updates changed
 *   values; an unchanged row is not written at all.
 * - `"replace"` deletes every row of the partition's signals in range, then inserts the result.
 * A load by COPY (`bulkCopy`) always replaces: deleting and copying is faster than either
 * strategy on every load measured, re-runs included (it writes WAL where an unchanged upsert does not).
 */
export type Strategy = "upsert" | "replace"

/** Rows per `INSERT` statement. */
export const defaultBatchSize = 20_000

export interface MakeOptions {
  /** The sink's name in messages; the URL without user and password by default, else `"postgres"`. */
  readonly name?: string | undefined
  /** `"upsert"` by default (see the README for measurements of both). */
  readonly strategy?: Strategy | undefined
  /** Rows per `INSERT` statement of the unnest path; 20,000 by default. */
  readonly batchSize?: number | undefined
  /**
   * Write with binary COPY over this `BulkCopy` (a `pg` pool on the same database as the
   * `SqlClient`): see `CopyLoad`. Without it, loads are `INSERT … SELECT FROM unnest(…)`
   * statements on the `SqlClient`. The layers give one when the server takes COPY (a Postgres
   * server, not the embedded PGlite).
   */
  readonly bulkCopy?: BulkCopy.BulkCopy["Service"] | undefined
}

export interface LayerFromClientOptions extends Omit<MakeOptions, "bulkCopy"> {
  /** Apply pending migrations when the layer starts; `true` by default. */
  readonly migrate?: boolean | undefined
  /**
   * Load by binary COPY over a `pg` pool of the sink's own (as many connections as the client's
   * pool) to the client's database, when the server takes COPY; the unnest statements on the
   * client otherwise. `true` by default for `layer` and `layerWithLedger`; `false` by default for
   * `layerFromClient`, whose caller sized the client's pool and may not want a second one.
   */
  readonly copy?: boolean | undefined
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
const text = (values: ReadonlyArray<string>) => parameter(values, PgTypes.OID.text)

/** Each row's `signal.id`. */
const rowSignalIds = (
  rows: TidyRows.TidyRows,
  asset: Asset.AssetId | undefined,
  ids: ReadonlyMap<string, number>
): Int32Array => {
  const byIndex = rows.signals.map((signal) => ids.get(SignalIds.keyOf(asset, signal))!)
  const out = new Int32Array(rows.length)
  for (let i = 0; i < rows.length; i++) out[i] = byIndex[rows.signalIndex[i]!]!
  return out
}

// One advisory lock per (range, asset): two loads of the same partition (from any pipeline) take
// turns instead of interleaving their deletes and inserts.
const lockKey = (request: Sink.LoadRequest) =>
  `delfos-etl/data/${request.range.start}/${request.range.end}/${request.partition.asset ?? ""}`

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
    const copyLoad = options.bulkCopy === undefined ? undefined : CopyLoad.make(options.bulkCopy)

    // The rows a batch owns: each request's signals (of its asset) over its range.
    const inScope = (scope: Scope) =>
      sql`SELECT 1 FROM unnest(${scope.signalIds}, ${scope.starts}, ${scope.ends}) AS o(signal_id, s, e)
        WHERE d.signal_id = o.signal_id AND d.timestamp >= o.s AND d.timestamp < o.e`

    // Whether the owned rows hold anything yet (read under the locks): an empty scope needs no
    // clean-up and takes a plain insert. And how many of the owned signals exist, locked until the
    // load commits so none is deleted under it (`data` has no per-row foreign key: migration 0011).
    const occupied = (scope: Scope) =>
      sql<{ occupied: boolean; signals: number }>`SELECT
        EXISTS (SELECT 1 FROM data AS d WHERE EXISTS (${inScope(scope)})) AS occupied,
        (SELECT count(*) FROM (SELECT 1 FROM signal WHERE id IN (SELECT unnest(${scope.signalIds}))
          FOR KEY SHARE) AS s)::int AS signals`

    // Deletes the owned rows whose key the new rows lack (upsert), or all owned rows (replace).
    // Returns how many of each signal went that the new rows do not have. `NOT IN` over the keys is
    // a hashed subplan whatever the statistics say; `NOT EXISTS` was planned as a nested loop
    // re-running `unnest` per row on a table not yet analysed (a fresh target's second run of a
    // day): 250 ms instead of 1.5 ms for a day's 1,152 rows.
    const clear = (scope: Scope, keys: Keys) =>
      strategy === "upsert"
        ? sql<Deleted>`WITH stale AS (
            DELETE FROM data AS d
            WHERE EXISTS (${inScope(scope)})
              AND (d.timestamp, d.signal_id) NOT IN (
                SELECT * FROM unnest(${keys.timestamps}, ${keys.signalIds}) AS k(timestamp, signal_id))
            RETURNING d.signal_id)
          SELECT signal_id, count(*)::int AS deleted FROM stale GROUP BY signal_id`
        : sql<Deleted>`WITH old AS (
            DELETE FROM data AS d WHERE EXISTS (${inScope(scope)})
            RETURNING d.signal_id, d.timestamp)
          SELECT signal_id, count(*)::int AS deleted FROM old
          WHERE (old.timestamp, old.signal_id) NOT IN (
            SELECT * FROM unnest(${keys.timestamps}, ${keys.signalIds}) AS k(timestamp, signal_id))
          GROUP BY signal_id`

    // Rows already holding their value are filtered out before the insert: ON CONFLICT would lock
    // (and so write) each of them even when its WHERE then skips the update. The load holds the
    // partitions' locks, so no other load changes them between the filter and the insert.
    const upsert = (batch: Batch) =>
      sql`INSERT INTO data (timestamp, signal_id, value)
        SELECT n.timestamp, n.signal_id, n.value
        FROM unnest(${batch.timestamps}, ${batch.signalIds}, ${batch.values}) AS n(timestamp, signal_id, value)
        LEFT JOIN data AS d ON d.signal_id = n.signal_id AND d.timestamp = n.timestamp
        WHERE d.value IS DISTINCT FROM n.value
        ON CONFLICT (signal_id, timestamp) DO UPDATE SET value = EXCLUDED.value
        WHERE data.value IS DISTINCT FROM EXCLUDED.value`

    // Into a scope that holds none of its rows (and is locked): a plain insert skips ON CONFLICT's
    // speculative insertion, a quarter less WAL and time.
    const insert = (batch: Batch) =>
      sql`INSERT INTO data (timestamp, signal_id, value)
        SELECT * FROM unnest(${batch.timestamps}, ${batch.signalIds}, ${batch.values})`

    /** Loads requests in one transaction: all or none. Requests owning no signal write nothing. */
    const write = (
      requests: ReadonlyArray<Sink.LoadRequest>
    ): Effect.Effect<Array<Sink.LoadResult>, SqlError.SqlError | BulkCopy.BulkCopyError> =>
      Effect.gen(function* () {
        const active = requests.filter((request) => request.signals.length > 0)
        if (active.length === 0) return requests.map(() => ({ rowsWritten: 0, rowsDeleted: 0 }))
        const ids = yield* signalIds.resolve(
          active.map((request) => ({ asset: request.partition.asset, names: request.signals }))
        )
        const owned = active.map((request) =>
          request.signals.map((signal) => ids.get(SignalIds.keyOf(request.partition.asset, signal))!)
        )
        const deleted =
          copyLoad === undefined
            ? yield* writeUnnest(active, ids, owned)
            : yield* copyLoad.write(
                active.map((request, i) => ({
                  range: request.range,
                  signalIds: owned[i]!,
                  rows: request.rows,
                  rowSignalIds: rowSignalIds(request.rows, request.partition.asset, ids)
                })),
                [...new Set(active.map(lockKey))].sort()
              )
        const results = new Map(
          active.map((request, i) => [
            request,
            {
              rowsWritten: request.rows.length,
              rowsDeleted: owned[i]!.reduce((sum, id) => sum + (deleted.get(id) ?? 0), 0)
            }
          ])
        )
        return requests.map((request) => results.get(request) ?? { rowsWritten: 0, rowsDeleted: 0 })
      })

    /** The unnest path's transaction; returns the stale rows deleted, by signal id. */
    const writeUnnest = (
      active: ReadonlyArray<Sink.LoadRequest>,
      ids: ReadonlyMap<string, number>,
      owned: ReadonlyArray<ReadonlyArray<number>>
    ): Effect.Effect<Map<number, number>, SqlError.SqlError> =>
      Effect.gen(function* () {
        const total = active.reduce((sum, request) => sum + request.rows.length, 0)
        const allTimestamps = new Float64Array(total)
        const allIds = new Int32Array(total)
        const allValues = new Float64Array(total)
        let at = 0
        for (const request of active) {
          allTimestamps.set(request.rows.timestamps, at)
          allIds.set(rowSignalIds(request.rows, request.partition.asset, ids), at)
          allValues.set(request.rows.values, at)
          at += request.rows.length
        }
        const scope: Scope = {
          signalIds: int4s(Int32Array.from(owned.flat())),
          starts: timestamps(
            Float64Array.from(active.flatMap((request, i) => owned[i]!.map(() => request.range.start)))
          ),
          ends: timestamps(Float64Array.from(active.flatMap((request, i) => owned[i]!.map(() => request.range.end))))
        }
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            // In a fixed order, so two batches sharing partitions never wait on each other in a circle.
            const locks = text([...new Set(active.map(lockKey))].sort())
            yield* sql`SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM (SELECT k FROM unnest(${locks}) AS u(k) ORDER BY k) AS l`
            const [state] = yield* occupied(scope)
            const expected = new Set(owned.flat()).size
            if (state!.signals !== expected) {
              return yield* new SqlError.SqlError({
                reason: new SqlError.ConstraintError({
                  cause: undefined,
                  message: `${expected - state!.signals} of the load's ${expected} signals no longer exist in signal`
                })
              })
            }
            const cleared = state!.occupied
              ? yield* clear(scope, { timestamps: timestamps(allTimestamps), signalIds: int4s(allIds) })
              : []
            for (let from = 0; from < total; from += batchSize) {
              const to = Math.min(total, from + batchSize)
              const batch: Batch = {
                timestamps: timestamps(allTimestamps.subarray(from, to)),
                signalIds: int4s(allIds.subarray(from, to)),
                values: float8s(allValues.subarray(from, to))
              }
              yield* state!.occupied ? upsert(batch) : insert(batch)
            }
            return new Map(cleared.map((row) => [row.signal_id, row.deleted]))
          })
        )
      })

    // What a failed batch is called in messages: its partition, or its day's assets.
    const describeBatch = (requests: ReadonlyArray<Sink.LoadRequest>) =>
      requests.length === 1
        ? Partition.format(requests[0]!.partition)
        : `${requests.length} partitions of ${Partition.format({ ...requests[0]!.partition, asset: undefined })}`

    const loadBatch = Effect.fn("PostgresSink.loadBatch")(function* (requests: ReadonlyArray<Sink.LoadRequest>) {
      const partition = describeBatch(requests)
      for (const request of requests) {
        const invalid = Sink.invalidRow(request)
        if (invalid !== undefined) {
          return yield* new Sink.SinkLoadFailed({
            sink: name,
            partition: Partition.format(request.partition),
            reason: invalid
          })
        }
      }
      const failure = (error: SqlError.SqlError | BulkCopy.BulkCopyError) =>
        (SqlError.isSqlError(error) ? Connection.isUnreachable(error) : error.operation === "connect")
          ? new Sink.SinkUnavailable({ sink: name, reason: Connection.reasonOf(error) })
          : new Sink.SinkLoadFailed({
              sink: name,
              partition,
              reason: SqlError.isSqlError(error) ? Connection.reasonOf(error) : error.reason
            })
      return yield* write(requests).pipe(
        Effect.mapError(failure),
        // A connection lost mid-load fails the rollback too, which the SQL client reports as a
        // defect; the server rolled the transaction back all the same: a failure like the others.
        Effect.catchDefect((defect) =>
          SqlError.isSqlError(defect) ? Effect.fail(failure(defect)) : Effect.die(defect)
        )
      )
    })

    const load = (request: Sink.LoadRequest) => Effect.map(loadBatch([request]), (results) => results[0]!)

    return Sink.Sink.of({ name, load, loadBatch })
  })

interface Keys {
  readonly timestamps: PgTypes.Parameter
  readonly signalIds: PgTypes.Parameter
}

interface Scope {
  readonly signalIds: PgTypes.Parameter
  readonly starts: PgTypes.Parameter
  readonly ends: PgTypes.Parameter
}

interface Deleted {
  readonly signal_id: number
  readonly deleted: number
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

// Whether the server takes `COPY … FROM STDIN`: a Postgres server does, the embedded PGlite does not.
const takesCopy = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [server] = yield* sql<{ version: string }>`SELECT version() AS version`
  return !/PGlite/i.test(server?.version ?? "")
})

/**
 * The sink's own `BulkCopy` to `target` when `copy` is asked and the server takes it (the pool
 * opens its connections on first use and closes with the scope); `undefined` otherwise.
 */
const bulkCopyFor = (
  sink: string,
  target: Connection.Target | undefined,
  copy: boolean,
  maxConnections: number | undefined
) =>
  Effect.gen(function* () {
    if (!copy || target === undefined) return undefined
    const copies = yield* takesCopy.pipe(
      Effect.mapError((error) => new Sink.SinkUnavailable({ sink, reason: Connection.reasonOf(error) }))
    )
    if (!copies) return undefined
    return yield* BulkCopy.make(target, { maxConnections: maxConnections ?? 10 })
  })

/**
 * A Postgres `Sink` over the `SqlClient` in context, migrations applied first (unless `migrate:
 * false`). With `copy: true`, it loads by binary COPY over a `pg` pool of its own to the client's
 * database (its URL) when the server is Postgres, and by the unnest statements on the embedded one.
 */
export const layerFromClient = (
  options: LayerFromClientOptions = {}
): Layer.Layer<Sink.Sink, Sink.SinkUnavailable, SqlClient.SqlClient> =>
  Layer.effect(
    Sink.Sink,
    Effect.gen(function* () {
      const name = options.name ?? (yield* clientName)
      yield* prepare(name, options.migrate ?? true)
      const client = yield* Effect.serviceOption(PgClient.PgClient)
      const url = Option.isSome(client) ? client.value.config.url : undefined
      const target =
        url === undefined
          ? undefined
          : yield* Connection.target(url).pipe(
              Effect.mapError((error) => new Sink.SinkUnavailable({ sink: name, reason: error.message }))
            )
      // A pool's config (`PgClient.layer`'s) carries its size: the copies get as many connections.
      const maxConnections = Option.isSome(client)
        ? (client.value.config as { readonly maxConnections?: number | undefined }).maxConnections
        : undefined
      const bulkCopy = yield* bulkCopyFor(name, target, options.copy ?? false, maxConnections)
      return yield* make({ ...options, name, bulkCopy })
    })
  )

/**
 * A Postgres `Sink` on a pool of its own at `url` (`DATABASE_URL` when absent), migrations applied
 * first (unless `migrate: false`). On a Postgres server it loads by binary COPY over a second, `pg`
 * pool of as many connections (unless `copy: false`); on the embedded database by the unnest
 * statements. The pools close with the layer. For the run ledger on the same pool, see
 * `layerWithLedger`.
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
          yield* prepare(name, options.migrate ?? true)
          const bulkCopy = yield* bulkCopyFor(name, target, options.copy ?? true, options.maxConnections)
          const sink = yield* make({ ...options, name, bulkCopy })
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
