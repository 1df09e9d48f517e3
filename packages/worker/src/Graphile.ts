/**
 * The adapter graphile-worker calls, and the only module of this package that runs Effects as
 * Promises or speaks `pg`: graphile-worker's pools, migrations, task functions, logger and
 * lifecycle. Everything else is Effect over `SqlClient`.
 */
import { EventEmitter } from "node:events"
import { Connection } from "@delfos/postgres"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import {
  type JobHelpers,
  Logger,
  type LogLevel,
  run as runGraphileWorker,
  runMigrations,
  type Task,
  type WorkerEvents
} from "graphile-worker"
import pg from "pg"

/** graphile-worker's schema, its default; every process sharing a queue must use the same. */
export const schema = "graphile_worker"

/** What a task's Effect knows of its job. */
export interface JobInfo {
  readonly id: string
  /** The worker pool that locked it: graphile-worker's `locked_by`. */
  readonly lockedBy: string
  /** Attempts so far, this one included. */
  readonly attempts: number
  readonly maxAttempts: number
  /** When it was queued (the database's clock). */
  readonly createdAt: Date
}

/** A task as an Effect: fails (or is interrupted) to fail the attempt, which graphile-worker retries. */
export type TaskEffect<R> = (payload: unknown, job: JobInfo) => Effect.Effect<unknown, unknown, R>

export interface RunOptions<R> {
  readonly target: Connection.Target
  readonly concurrency: number
  readonly pollInterval: number
  readonly shutdownTimeout: number
  readonly tasks: Readonly<Record<string, TaskEffect<R>>>
}

export interface Running {
  /** graphile-worker's id of the pool: the `locked_by` of its jobs. */
  readonly id: string
  /** Never succeeds: fails with graphile-worker's reason if it stops without being asked to. */
  readonly stoppedOnItsOwn: Effect.Effect<never, string>
}

// graphile-worker's info lines (a job completed, a worker connected) are debug detail for a
// library; warnings and errors stay what they are.
const logOf = (level: LogLevel) =>
  level === "error" ? Effect.logError : level === "warning" ? Effect.logWarning : Effect.logDebug

/** graphile-worker's log lines through Effect's logger, with the services of `context`. */
const loggerWith = (context: Context.Context<never>) =>
  new Logger((scope) => (level, message) => {
    const annotations = scope.label === undefined ? { graphileWorker: true } : { graphileWorker: scope.label }
    Effect.runSyncWith(context)(logOf(level)(message).pipe(Effect.annotateLogs(annotations)))
  })

/**
 * A `pg` pool on `target`, every session in UTC (`Connection.libpqOptions`), ended with the scope.
 * A connection that fails while idle or checked out is logged (`pg` replaces it, and the statement
 * on it fails), never an unhandled `error` event.
 */
const pool = (target: Connection.Target, max: number, logger: Logger): Effect.Effect<pg.Pool, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const pool = new pg.Pool({ ...Connection.libpqOptions(target), max })
      const onError = (error: Error) => logger.error(`connection to ${target.display} failed: ${error.message}`)
      pool.on("error", onError)
      pool.on("connect", (client) => client.on("error", onError))
      return pool
    }),
    (pool) => Effect.promise(() => pool.end().catch(() => undefined))
  )

/**
 * Applies graphile-worker's own migrations to its schema (a no-op when up to date; several
 * processes at once is safe: graphile-worker takes a lock). Fails with what `pg` threw.
 */
export const migrate = (target: Connection.Target): Effect.Effect<void, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const logger = loggerWith(yield* Effect.context<never>())
      const pgPool = yield* pool(target, 1, logger)
      yield* Effect.tryPromise({
        try: () => runMigrations({ pgPool, schema, logger }),
        catch: (error) => error
      })
    })
  )

/**
 * Starts a graphile-worker pool on `target` running `tasks` (each an Effect, run with the services
 * in context), and stops it when the scope closes: no new jobs, running ones get `shutdownTimeout`
 * ms to finish, then their fibers are interrupted and their attempts failed (retried later).
 * Fails with what graphile-worker threw when it cannot start.
 */
export const run = <R>(options: RunOptions<R>): Effect.Effect<Running, unknown, Scope.Scope | R> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<R>()
    const runPromise = Effect.runPromiseWith(context)
    const logger = loggerWith(context as Context.Context<never>)
    const toTask =
      (task: TaskEffect<R>): Task =>
      async (payload, helpers: JobHelpers) => {
        const job = helpers.job
        // graphile-worker aborts the signal when a shutdown outlasts its timeout: the fiber is
        // interrupted, so a load rolls back and the ledger records the interruption.
        await runPromise(
          task(payload, {
            id: job.id,
            lockedBy: job.locked_by ?? "unknown",
            attempts: job.attempts,
            maxAttempts: job.max_attempts,
            createdAt: job.created_at
          }),
          { signal: helpers.abortSignal }
        )
      }
    const taskList = Object.fromEntries(Object.entries(options.tasks).map(([name, task]) => [name, toTask(task)]))
    // The LISTEN connection, one per running job, and room for completing and polling.
    const pgPool = yield* pool(options.target, options.concurrency + 3, logger)
    // The pool's id is announced synchronously while `run` builds the pool.
    const events = new EventEmitter() as WorkerEvents
    let id = "unknown"
    events.on("pool:create", ({ workerPool }) => {
      id = workerPool.id
    })
    const runner = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          runGraphileWorker({
            pgPool,
            schema,
            concurrency: options.concurrency,
            pollInterval: options.pollInterval,
            gracefulShutdownAbortTimeout: options.shutdownTimeout,
            noHandleSignals: true,
            logger,
            events,
            taskList,
            // Always a list, even empty: otherwise graphile-worker reads ./crontab from the working directory.
            parsedCronItems: [],
            preset: {
              // Batching (even with no delay) makes shutdown wait for the last completions and failures
              // to be written; unbatched, a job that ends during a graceful stop can stay locked.
              worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 }
            }
          }),
        catch: (error) => error
      }),
      (runner) =>
        Effect.promise(async () => {
          await runner.stop().catch(() => undefined)
          await runner.promise.catch(() => undefined)
        })
    )
    const stoppedOnItsOwn = Effect.tryPromise({
      try: () => runner.promise,
      catch: (error) => Connection.reasonOf(error)
    }).pipe(Effect.andThen(Effect.fail("graphile-worker stopped on its own (see its log)")))
    return { id, stoppedOnItsOwn }
  })
