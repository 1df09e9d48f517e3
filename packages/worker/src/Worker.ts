/**
 * A worker: a graphile-worker pool takes jobs off the queue in the target database, and each job
 * runs one day, of the default series or of a batch of turbines (HTTP source → Postgres sink,
 * recorded in the ledger with a heartbeat). Beside
 * the jobs, a worker gives back the jobs of dead workers (`Liveness`) and, when it carries one,
 * queues its schedule's ticks (`Schedule`). Any number may share one queue.
 */
import { Ledger, Partition, type Partitions, Pipeline, Runner, type RunReport, type Scheduler, Sink } from "@delfos/etl"
import { PostgresSink, RunLedger } from "@delfos/etl-sink-postgres"
import { HttpSource } from "@delfos/etl-source-http"
import { Connection } from "@delfos/postgres"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Graphile from "./Graphile.ts"
import * as Jobs from "./Jobs.ts"
import * as Liveness from "./Liveness.ts"
import * as Queue from "./Queue.ts"
import * as Schedule from "./Schedule.ts"

export interface WorkerOptions {
  /** The target database, which holds the queue too; `DATABASE_URL` when absent. */
  readonly databaseUrl?: string | Redacted.Redacted<string> | undefined
  /** Jobs run at once by this worker; 1 by default. */
  readonly concurrency?: number | undefined
  /** How often to look for jobs due later (retries); new jobs arrive at once by LISTEN/NOTIFY. 2 seconds by default. */
  readonly pollInterval?: Duration.Input | undefined
  /**
   * How long a stop lets running jobs finish before their fibers are interrupted (their loads roll
   * back, the ledger records `interrupted`, their jobs are retried later); 5 seconds by default.
   */
  readonly shutdownTimeout?: Duration.Input | undefined
  /** How often a run in progress writes its heartbeat, and the worker looks for dead ones; 5 seconds by default. */
  readonly heartbeatInterval?: Duration.Input | undefined
  /** Silence after which a job's worker is dead and the job is retried elsewhere; 30 seconds by default. */
  readonly staleAfter?: Duration.Input | undefined
  /** A schedule this worker queues the ticks of (every worker may carry the same; each tick is queued once). */
  readonly schedule?:
    | { readonly definition: Partitions.Definition; readonly options?: Schedule.ScheduleOptions | undefined }
    | undefined
}

/** A started worker. */
export interface Handle {
  /** graphile-worker's id of the pool: the `locked_by` of its jobs, the `runner` of its runs in the ledger. */
  readonly id: string
  /** Never succeeds: fails with `WorkerStopped` if the worker stops without its scope closing. */
  readonly done: Effect.Effect<never, WorkerStopped>
}

/**
 * A job's run was recorded as failed (for a batch, the run of one or more of its turbines):
 * graphile-worker retries the job with its backoff until `maxAttempts`.
 */
export class PartitionFailed extends Schema.TaggedError<PartitionFailed>()("PartitionFailed", {
  pipeline: Schema.String,
  /** `timeZone:day`. */
  partition: Schema.String,
  /** The batch's turbines that failed; absent for the default series. */
  assets: Schema.optionalKey(Schema.Array(Schema.String)),
  /** The first failure's tag and message. */
  tag: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    const assets = this.assets === undefined ? "" : ` ${this.assets.join(",")}`
    return `${this.pipeline} ${this.partition}${assets} failed: ${this.tag}: ${this.reason}`
  }
}

/** The worker stopped without being asked to: graphile-worker gave up (its database went away for good, say). */
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

/** Why a worker could not start, or stopped. */
export type WorkerError =
  | InvalidWorkerOptions
  | Jobs.InvalidJob
  | Scheduler.InvalidCron
  | Connection.MissingDatabaseUrl
  | Connection.InvalidDatabaseUrl
  | Queue.QueueUnavailable
  | WorkerStopped

interface Settings {
  readonly concurrency: number
  readonly pollInterval: number
  readonly shutdownTimeout: number
  readonly heartbeatInterval: number
  readonly staleAfter: number
}

const invalid = (reason: string) => new InvalidWorkerOptions({ reason })

const millis = (name: string, input: Duration.Input | undefined, fallback: Duration.Input, minimum: number) =>
  Effect.gen(function* () {
    const duration = Duration.fromInput(input ?? fallback)
    const value = duration._tag === "Some" ? Duration.toMillis(duration.value) : Number.NaN
    if (!(value >= minimum) || !Number.isFinite(value)) {
      return yield* invalid(`${name} must be a duration of at least ${minimum} ms, got ${String(input)}`)
    }
    return value
  })

/** The options, checked and with their defaults, before any I/O. */
const settingsOf = (options: WorkerOptions): Effect.Effect<Settings, InvalidWorkerOptions> =>
  Effect.gen(function* () {
    const concurrency = options.concurrency ?? 1
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      return yield* invalid(`concurrency must be a whole number ≥ 1, got ${concurrency}`)
    }
    const settings: Settings = {
      concurrency,
      pollInterval: yield* millis("pollInterval", options.pollInterval, "2 seconds", 1),
      shutdownTimeout: yield* millis("shutdownTimeout", options.shutdownTimeout, "5 seconds", 0),
      heartbeatInterval: yield* millis(
        "heartbeatInterval",
        options.heartbeatInterval,
        Runner.defaultHeartbeatInterval,
        1
      ),
      staleAfter: yield* millis("staleAfter", options.staleAfter, Runner.defaultStaleAfter, 1)
    }
    if (settings.staleAfter <= settings.heartbeatInterval) {
      return yield* invalid(
        `staleAfter (${settings.staleAfter} ms) must be longer than heartbeatInterval (${settings.heartbeatInterval} ms)`
      )
    }
    return settings
  })

/** What a job's Effect knows of its attempt; graphile-worker's `attempts` count this one. */
export interface Attempt {
  readonly attempts: number
  /** When the job was queued: a run started since then was started by it (or after it was asked for). */
  readonly createdAt: Date
}

/** A partition ended so that it needs no retry. */
const isDone = (status: string) => status === "succeeded" || status === "degraded" || status === "empty"

/**
 * The partitions of a fleet job still to run: on a retry, those with no run that ended well
 * (`succeeded`, `degraded`, `empty`) since the job was queued. A ledger that cannot be read leaves
 * them all: running a turbine-day again only repeats it.
 */
const stillToRun = (job: Jobs.PartitionJob, partitions: Array<Partition.Partition>, attempt: Attempt | undefined) =>
  Effect.gen(function* () {
    if (job.assets === undefined || attempt === undefined || attempt.attempts <= 1) return partitions
    const ledger = yield* Ledger.Ledger
    const runs = yield* ledger
      .history(job.pipeline, { from: job.day, to: job.day, assets: job.assets })
      .pipe(
        Effect.catch((error) =>
          Effect.as(Effect.logWarning(`${Jobs.key(job)}: running the whole batch again: ${error.message}`), [])
        )
      )
    const since = attempt.createdAt.getTime()
    const done = new Set(
      runs
        .filter((run) => run.timeZone === job.timeZone && isDone(run.status) && Date.parse(run.startedAt) >= since)
        .map(Partition.key)
    )
    return partitions.filter((partition) => !done.has(Partition.key(partition)))
  })

/**
 * A `delfos_run_partition` job: its partitions run as one batch with `Pipeline.runBatchRecorded`
 * (HTTP source on the job's URL, the sink and ledger in context, recorded by the `Runner` in
 * context): the day's default series, or its turbines, extracted and loaded together. Fails with
 * `PartitionFailed` when any partition's report is `failed`, so that graphile-worker retries the
 * job; given its `attempt`, a retry of a fleet job runs only the turbines that have not ended well
 * since the job was queued (all of them after a failed extract). An `empty` partition is not a
 * failure. Returns the reports of the partitions it ran.
 */
export const runJob = (
  payload: unknown,
  attempt?: Attempt
): Effect.Effect<Array<RunReport.RunReport>, Jobs.InvalidJob | PartitionFailed, Sink.Sink | Ledger.Ledger> =>
  Effect.gen(function* () {
    const job = yield* Jobs.decode(payload)
    const partitions = yield* stillToRun(job, Jobs.partitionsOf(job), attempt)
    if (partitions.length === 0) return []
    const reports = yield* Pipeline.runBatchRecorded(partitions, Jobs.pipelineOptions(job)).pipe(
      Effect.provide(HttpSource.layer({ baseUrl: job.sourceUrl })),
      Effect.mapError((error) => new Jobs.InvalidJob({ reason: error.message }))
    )
    const failed = reports.filter((report) => report.status === "failed")
    const first = failed[0]
    if (first !== undefined) {
      return yield* new PartitionFailed({
        pipeline: job.pipeline,
        partition: `${job.timeZone}:${job.day}`,
        ...(job.assets === undefined ? {} : { assets: failed.map((report) => report.asset ?? "") }),
        tag: first.error?.tag ?? "Unknown",
        reason: first.error?.message ?? "no reason given"
      })
    }
    return reports
  })

/**
 * A job of the default series: `runJob`, and its one report.
 *
 * @deprecated Use `runJob(payload, attempt)`, which runs fleet jobs too and returns every report.
 */
export const runPartition = (
  payload: unknown
): Effect.Effect<RunReport.RunReport, Jobs.InvalidJob | PartitionFailed, Sink.Sink | Ledger.Ledger> =>
  Effect.map(runJob(payload), (reports) => reports[0]!)

/**
 * Starts a worker and returns once it takes jobs; it stops when the scope closes: no new jobs,
 * running ones get `shutdownTimeout` to finish, then are interrupted (their loads roll back, the
 * ledger records `interrupted`, their jobs are retried later by any worker). Migrates the queue's
 * and the project's schemas first. Fails before any I/O on a bad option.
 */
export const start = (options: WorkerOptions = {}): Effect.Effect<Handle, WorkerError, Scope.Scope> =>
  Effect.gen(function* () {
    const settings = yield* settingsOf(options)
    const schedule = options.schedule
    if (schedule !== undefined) yield* Schedule.validate(schedule.definition, schedule.options ?? {})
    const target = yield* Connection.targetFrom(options.databaseUrl)

    // The sink and ledger of the jobs, the sweeps and the ticks share one pool: a running job may
    // hold a connection for its load and another for its heartbeat.
    const services = yield* Layer.build(
      Layer.mergeAll(
        Layer.effect(Sink.Sink, PostgresSink.make({ name: target.display })),
        Layer.effect(Ledger.Ledger, RunLedger.make)
      ).pipe(Layer.provideMerge(Queue.layerFor(target, { maxConnections: 2 * settings.concurrency + 2 })))
    )
    const runner = (id: string): Runner.Identity => ({
      id,
      heartbeatInterval: settings.heartbeatInterval,
      staleAfter: settings.staleAfter
    })

    const pool = yield* Graphile.run({
      target,
      concurrency: settings.concurrency,
      pollInterval: settings.pollInterval,
      shutdownTimeout: settings.shutdownTimeout,
      tasks: {
        // The run is recorded as its pool's: the sweep matches a job to its run by `locked_by`.
        [Jobs.runPartitionTask]: (payload, job) =>
          runJob(payload, job).pipe(Effect.provideService(Runner.Runner, runner(job.lockedBy)))
      }
    }).pipe(
      Effect.mapError((error) => Queue.unavailable(target.display, error)),
      Effect.provideContext(services)
    )

    yield* Effect.forkScoped(
      Liveness.run({ staleAfter: settings.staleAfter, interval: settings.heartbeatInterval }).pipe(
        Effect.provideContext(services)
      )
    )
    if (schedule !== undefined) {
      yield* Effect.forkScoped(
        Schedule.run(schedule.definition, schedule.options).pipe(
          // Checked above: not expected.
          Effect.catch((error) => Effect.logError(`schedule ${schedule.definition.name} stopped: ${error.message}`)),
          Effect.provideService(Runner.Runner, runner(pool.id)),
          Effect.provideContext(services)
        )
      )
    }
    return {
      id: pool.id,
      done: pool.stoppedOnItsOwn.pipe(Effect.mapError((reason) => new WorkerStopped({ reason })))
    }
  }).pipe(Effect.withSpan("Worker.start"))

/**
 * Runs a worker until interrupted (the `delfos-etl worker` command interrupts it on SIGTERM or
 * SIGINT): `start` in a scope of its own, closed when the fiber is interrupted.
 */
export const run = (options: WorkerOptions = {}): Effect.Effect<never, WorkerError> =>
  Effect.scoped(Effect.flatMap(start(options), (worker) => worker.done))
