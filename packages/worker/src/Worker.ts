/**
 * A worker: graphile-worker takes jobs off the queue in the target database, and each job runs one
 * partition (HTTP source → Postgres sink, recorded in the ledger). Any number may share one queue.
 */
import { EventEmitter } from "node:events"
import { Ledger, Pipeline, Runner } from "@delfos/etl"
import { PostgresSink } from "@delfos/etl-sink-postgres"
import { HttpSource } from "@delfos/etl-source-http"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { type Logger, parseCrontab, run, type Task, type WorkerEvents } from "graphile-worker"
import * as Jobs from "./Jobs.ts"
import * as Liveness from "./Liveness.ts"
import * as Queue from "./Queue.ts"
import * as Schedule from "./Schedule.ts"

export interface WorkerOptions extends Liveness.LivenessOptions {
  /** The target database, which holds the queue too; `DATABASE_URL` when absent. */
  readonly databaseUrl?: string | undefined
  /** Jobs run at once by this worker; 1 by default. */
  readonly concurrency?: number | undefined
  /** Milliseconds between looks for jobs due later (retries); new jobs arrive by LISTEN/NOTIFY at once. 2,000 by default. */
  readonly pollInterval?: number | undefined
  /**
   * Milliseconds that `stop()` lets running jobs finish before it interrupts them (their loads roll
   * back, their jobs are retried later); 5,000 by default.
   */
  readonly shutdownTimeout?: number | undefined
  /** Crontab lines (`Schedule.crontabFor(...)`), run by this worker; none by default. */
  readonly crontab?: string | ReadonlyArray<string> | undefined
  /** graphile-worker's logger; its warnings and errors on stderr by default. */
  readonly logger?: Logger | undefined
}

export interface WorkerHandle {
  /** graphile-worker's id of this worker pool: the `locked_by` of its jobs, the `id` of its heartbeat row. */
  readonly id: string
  /** Stops taking jobs, lets running ones finish (or interrupts them after `shutdownTimeout`), then releases everything. */
  readonly stop: () => Promise<void>
  /**
   * Resolves once the worker has stopped after `stop()` and released everything; rejects (after
   * releasing) when it stopped on its own, with `WorkerStopped` or graphile-worker's error.
   */
  readonly done: Promise<void>
}

/** A partition's run was recorded as failed: graphile-worker retries it with its backoff until `maxAttempts`. */
export class PartitionFailed extends Schema.TaggedError<PartitionFailed>()("PartitionFailed", {
  pipeline: Schema.String,
  partition: Schema.String,
  tag: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.pipeline} ${this.partition} failed: ${this.tag}: ${this.reason}`
  }
}

/** The worker stopped without being asked to: its database connection failed for good, say. */
export class WorkerStopped extends Schema.TaggedError<WorkerStopped>()("WorkerStopped", {
  reason: Schema.String
}) {
  override get message(): string {
    return `worker stopped unexpectedly: ${this.reason}`
  }
}

/** A worker option that cannot be used: which, and why. */
export class InvalidWorkerOptions extends Schema.TaggedError<InvalidWorkerOptions>()("InvalidWorkerOptions", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid worker options: ${this.reason}`
  }
}

const positive = (name: string, value: number | undefined, fallback: number): number => {
  const resolved = value ?? fallback
  if (!Number.isInteger(resolved) || resolved < 1) {
    throw new InvalidWorkerOptions({ reason: `${name} must be a whole number ≥ 1, got ${resolved}` })
  }
  return resolved
}

const parseCronLines = (crontab: string | ReadonlyArray<string> | undefined) => {
  try {
    return parseCrontab(typeof crontab === "string" ? crontab : (crontab ?? []).join("\n"))
  } catch (error) {
    throw new InvalidWorkerOptions({ reason: error instanceof Error ? error.message : String(error) })
  }
}

/**
 * Starts a worker on the queue in the target database: migrates the queue's, the heartbeat's and the
 * alvo's schemas if needed, then runs jobs until `stop()`. Signals are the caller's to handle (the
 * `delfos-etl-worker` command stops on SIGTERM/SIGINT). Throws `InvalidWorkerOptions`; rejects with
 * `QueueUnavailable` or the sink's `SinkUnavailable` when the database cannot be used.
 */
export const runWorker = async (options: WorkerOptions = {}): Promise<WorkerHandle> => {
  const url = Queue.databaseUrl(options.databaseUrl)
  const concurrency = positive("concurrency", options.concurrency, 1)
  const heartbeatInterval = positive("heartbeatInterval", options.heartbeatInterval, Liveness.defaultHeartbeatInterval)
  const staleAfter = positive("staleAfter", options.staleAfter, Liveness.defaultStaleAfter)
  if (staleAfter <= heartbeatInterval) {
    throw new InvalidWorkerOptions({ reason: `staleAfter (${staleAfter}) must be longer than heartbeatInterval` })
  }
  const parsedCronItems = parseCronLines(options.crontab)
  const logger = options.logger ?? Queue.quietLogger

  const utils = await Queue.open(url, logger)
  const runtime = ManagedRuntime.make(PostgresSink.layerWithLedger({ url, maxConnections: concurrency + 1 }))
  const release = async () => {
    await runtime.dispose()
    await utils.release()
  }
  try {
    await Liveness.migrate(utils.withPgClient).catch((error: unknown) => {
      throw Queue.unavailable(url, error)
    })
    // Building the sink now migrates the alvo schema, and a database that refuses fails the start.
    await runtime.context()
  } catch (error) {
    await release()
    throw error
  }

  const runPartition: Task = async (payload, helpers) => {
    const job = Jobs.decode(payload)
    const report = await runtime.runPromise(
      Pipeline.runRecorded(Jobs.partitionOf(job), Jobs.pipelineOptions(job)).pipe(
        Effect.provide(HttpSource.layer({ baseUrl: job.sourceUrl })),
        Effect.provideService(Runner.Runner, { id: poolId ?? "worker", heartbeatInterval, staleAfter })
      ),
      // graphile-worker aborts this on a shutdown that outlasts `shutdownTimeout`: the run is
      // interrupted, its load rolls back, the ledger says so and the job is retried later.
      { signal: helpers.abortSignal }
    )
    if (report.status === "failed") {
      throw new PartitionFailed({
        pipeline: job.pipeline,
        partition: `${job.timeZone}:${job.day}`,
        tag: report.error?.tag ?? "Unknown",
        reason: report.error?.message ?? "no reason given"
      })
    }
  }

  // A dead pool's runs still say `running` in the ledger: record them as failed before the retry starts.
  const recordAbandoned = (jobs: ReadonlyArray<Liveness.RecoveredJob>) =>
    runtime.runPromise(
      Effect.forEach(
        jobs,
        (recovered) => {
          const named = recovered.key === null ? undefined : Jobs.parseKey(recovered.key)
          if (named === undefined) return Effect.void
          return Effect.gen(function* () {
            const ledger = yield* Ledger.Ledger
            const runs = yield* ledger.runs(named.pipeline, named.partition)
            const abandoned = runs.filter(
              (run) => run.status === "running" && Date.parse(run.startedAt) >= recovered.lockedAt.getTime()
            )
            yield* Effect.forEach(abandoned, (run) =>
              ledger.fail(
                [run.id],
                `abandoned: worker ${recovered.lockedBy} stopped (no heartbeat for ${staleAfter / 1000}s)`
              )
            )
          })
        },
        { discard: true }
      )
    )

  const liveness = Liveness.make({
    withPgClient: utils.withPgClient,
    tasks: [Jobs.runPartitionTask, Schedule.enqueueRecentTask],
    heartbeatInterval,
    staleAfter,
    concurrency,
    logger,
    onRecover: recordAbandoned
  })

  // The pool's id is announced synchronously while `run` builds the pool.
  const events = new EventEmitter() as WorkerEvents
  let poolId: string | undefined
  events.on("pool:create", ({ workerPool }) => {
    poolId = workerPool.id
  })

  let runner: Awaited<ReturnType<typeof run>>
  try {
    runner = await run({
      connectionString: url,
      schema: Queue.schema,
      concurrency,
      // The LISTEN connection, one per running job, and room for completing and polling.
      maxPoolSize: concurrency + 3,
      pollInterval: options.pollInterval ?? 2_000,
      gracefulShutdownAbortTimeout: options.shutdownTimeout ?? 5_000,
      noHandleSignals: true,
      logger,
      events,
      taskList: { [Jobs.runPartitionTask]: runPartition, [Schedule.enqueueRecentTask]: Schedule.task },
      // Always a list, even empty: otherwise graphile-worker reads ./crontab from the working directory.
      parsedCronItems,
      preset: {
        plugins: [liveness.plugin],
        // Batching (even with no delay) makes shutdown wait for the last completions and failures to
        // be written; unbatched, a job that ends during a graceful stop can stay locked.
        worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 }
      }
    })
  } catch (error) {
    await liveness.stop()
    await release()
    throw Queue.unavailable(url, error)
  }

  let stopping: Promise<void> | undefined
  const done = runner.promise
    .finally(async () => {
      await liveness.stop()
      await release()
    })
    .then(() => {
      if (stopping === undefined)
        throw new WorkerStopped({ reason: "graphile-worker stopped on its own (see its log)" })
    })
  // `done` is for the caller to await; an unobserved rejection must not crash the process meanwhile.
  done.catch(() => undefined)
  const stop = () => {
    stopping ??= runner.stop().then(
      () => done,
      () => done
    )
    return stopping
  }
  return { id: poolId ?? "unknown", stop, done }
}
