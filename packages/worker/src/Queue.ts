/**
 * The job queue's database: graphile-worker's `graphile_worker` schema in the target database the
 * pipeline already writes (migrated by graphile-worker on first use, the project's own tables by
 * its migrations), reached through `SqlClient`, and what is in the queue.
 */
import { Ledger } from "@delfos/etl"
import { Migrations } from "@delfos/etl-sink-postgres"
import { Connection } from "@delfos/postgres"
import { PgClient } from "@effect/sql-pg"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as SqlClient from "effect/sql/SqlClient"
import * as SqlError from "effect/sql/SqlError"
import * as Graphile from "./Graphile.ts"
import { runPartitionTask } from "./Jobs.ts"

/** graphile-worker's schema, its default; every process sharing a queue must use the same. */
export const schema = Graphile.schema

/** The queue's database could not be reached, or its schema could not be migrated. */
export class QueueUnavailable extends Schema.TaggedError<QueueUnavailable>()("QueueUnavailable", {
  /** The URL without user or password. */
  database: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `job queue unavailable at ${this.database}: ${this.reason}`
  }
}

/** A failure of the queue's database as `QueueUnavailable`, naming the database but never its password. */
export const unavailable = (database: string, error: unknown): QueueUnavailable =>
  new QueueUnavailable({ database, reason: Connection.reasonOf(error) })

/**
 * The queue, ready: its schema and the project's tables migrated in the database of the `SqlClient`
 * beside it. `database` names that database in messages (without its password).
 */
export class Queue extends Context.Service<Queue, { readonly database: string }>()("@delfos/etl-worker/Queue") {}

export interface LayerOptions {
  /** The target database, which holds the queue; `DATABASE_URL` when absent. Read as libpq reads it. */
  readonly databaseUrl?: string | Redacted.Redacted<string> | undefined
  /** Connections in the pool; 2 by default. */
  readonly maxConnections?: number | undefined
}

/**
 * The queue on a parsed target: a pool (`SqlClient`, sessions in UTC), graphile-worker's schema
 * migrated by graphile-worker, and the project's migrations applied (the run ledger, `etl_schedule`).
 */
export const layerFor = (
  target: Connection.Target,
  options: Omit<LayerOptions, "databaseUrl"> = {}
): Layer.Layer<Queue | SqlClient.SqlClient | PgClient.PgClient, QueueUnavailable> =>
  Layer.effect(
    Queue,
    Effect.gen(function* () {
      yield* Graphile.migrate(target)
      yield* Migrations.migrate
      return Queue.of({ database: target.display })
    }).pipe(Effect.mapError((error) => unavailable(target.display, error)))
  ).pipe(
    Layer.provideMerge(
      PgClient.layerFrom(
        Connection.make(target, { maxConnections: options.maxConnections ?? 2 }).pipe(
          Effect.mapError((error) => unavailable(target.display, error))
        )
      )
    )
  )

/** The queue at `databaseUrl` (`DATABASE_URL` when absent): `layerFor` its target. */
export const layer = (
  options: LayerOptions = {}
): Layer.Layer<
  Queue | SqlClient.SqlClient | PgClient.PgClient,
  QueueUnavailable | Connection.MissingDatabaseUrl | Connection.InvalidDatabaseUrl
> => Layer.unwrap(Effect.map(Connection.targetFrom(options.databaseUrl), (target) => layerFor(target, options)))

/**
 * Runs `effect` in one transaction on the queue's database; its database failures (a statement, a
 * ledger read, a connection lost mid-way) become `QueueUnavailable`, its other failures stay.
 */
export const transaction = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<
  A,
  Exclude<E, SqlError.SqlError | Ledger.LedgerError> | QueueUnavailable,
  R | SqlClient.SqlClient | Queue
> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { database } = yield* Queue
    return yield* sql.withTransaction(effect).pipe(
      Effect.mapError((error) =>
        isDatabaseError(error)
          ? unavailable(database, error)
          : (error as Exclude<E, SqlError.SqlError | Ledger.LedgerError>)
      ),
      // A connection lost mid-transaction fails the rollback too, which the SQL client reports as a
      // defect; the server rolled the transaction back all the same.
      Effect.catchDefect((defect) =>
        SqlError.isSqlError(defect) ? Effect.fail(unavailable(database, defect)) : Effect.die(defect)
      )
    )
  })

const isDatabaseError = (error: unknown): error is SqlError.SqlError | Ledger.LedgerError =>
  SqlError.isSqlError(error) || error instanceof Ledger.LedgerError

/** A pipeline's partition jobs in the queue. Done jobs leave the queue: the run ledger keeps their outcome. */
export interface Counts {
  /** Waiting to run, or to be retried after a failed attempt. */
  readonly waiting: number
  readonly running: number
  /** Failed on every attempt; queued again by the next enqueue of their partition. */
  readonly failed: number
}

/** How many partition jobs of `pipeline` (every pipeline's when absent) are waiting, running and failed for good. */
export const counts = (
  options: { readonly pipeline?: string | undefined } = {}
): Effect.Effect<Counts, QueueUnavailable, SqlClient.SqlClient | Queue> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { database } = yield* Queue
    const rows = yield* sql<Counts>`SELECT
        count(*) FILTER (WHERE locked_at IS NULL AND attempts < max_attempts)::int AS waiting,
        count(*) FILTER (WHERE locked_at IS NOT NULL)::int AS running,
        count(*) FILTER (WHERE locked_at IS NULL AND attempts >= max_attempts)::int AS failed
      FROM graphile_worker.jobs
      WHERE task_identifier = ${runPartitionTask}
        AND (${options.pipeline ?? null}::text IS NULL OR split_part(key, ':', 1) = ${options.pipeline ?? null})`.pipe(
      Effect.mapError((error) => unavailable(database, error))
    )
    return rows[0]!
  })
