/**
 * `delfos-etl worker` (take queued days until SIGTERM/SIGINT, and with `--cron` queue a schedule's
 * ticks), `delfos-etl worker enqueue` and `backfill --distributed`: days as graphile-worker jobs in
 * the target Postgres, run by any number of worker processes on any machines. The only module
 * that calls `@delfos/etl-worker`.
 */
import type { Partition, Partitions } from "@delfos/etl"
import { Enqueue, Jobs, Queue, Schedule, Worker } from "@delfos/etl-worker"
import * as Effect from "effect/Effect"
import * as References from "effect/References"
import { execute } from "../Execute.ts"
import * as ExitCode from "../ExitCode.ts"
import { defaults } from "../Options.ts"
import * as Settings from "../Settings.ts"
import { out, type RunFlags } from "./Run.ts"

export interface EnqueueFlags extends RunFlags {
  readonly maxAttempts?: string | undefined
}

export interface WorkerFlags extends Settings.RawOptions {
  readonly maxAttempts?: string | undefined
  readonly pollInterval?: string | undefined
  readonly shutdownTimeout?: string | undefined
  /** `true` when given without a value: the default cron. */
  readonly cron?: string | boolean | undefined
  readonly lookback?: string | undefined
  readonly only?: string | undefined
}

/** The queue lives in the target database, which must be a Postgres server. */
const queueUrl = (settings: Settings.Settings) =>
  settings.databaseUrl === undefined
    ? Effect.fail(
        new Settings.UsageError({
          message:
            "the job queue needs a Postgres database (LISTEN/NOTIFY, a connection per job): give --database-url or DATABASE_URL"
        })
      )
    : Effect.succeed(settings.databaseUrl)

/**
 * What every job carries besides its day, and the farm: `--turbines` (ids, or `all`: those the
 * source lists, asked when queueing, and by a schedule at every tick) cut `--batch-size` to a job.
 */
const jobOptions = (settings: Settings.Settings) =>
  Effect.as(
    settings.batchSize > Jobs.maxAssets
      ? Effect.fail(
          new Settings.UsageError({
            message: `invalid --batch-size "${settings.batchSize}": a job runs at most ${Jobs.maxAssets} turbines`
          })
        )
      : Effect.void,
    {
      pipeline: settings.pipeline,
      variables: settings.variables,
      statistics: settings.statistics,
      every: settings.every,
      sourceUrl: settings.sourceUrl,
      assets: settings.assets,
      batchSize: settings.batchSize,
      allowEmpty: settings.allowEmpty,
      ...(settings.quality.minCoverage === undefined
        ? {}
        : { minCoverage: settings.quality.minCoverage, strict: settings.quality.strict })
    }
  )

/** The worker library logs through Effect: warnings and errors on stderr, every job with --verbose. */
const logging =
  (verbose: boolean) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provideService(References.LogToStderr, true),
      Effect.provideService(References.MinimumLogLevel, verbose ? "Debug" : "Warn")
    )

/** `worker enqueue`: one job per day, done days included (a re-run), never twice. */
export const enqueue = (
  settings: Settings.Settings,
  partitions: ReadonlyArray<Partition.Partition>,
  maxAttempts: number
): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    const databaseUrl = yield* queueUrl(settings)
    const options = { ...(yield* jobOptions(settings)), maxAttempts }
    yield* Enqueue.validate(partitions[0]!, options)
    const result = yield* Enqueue.enqueue(partitions, options).pipe(Effect.provide(Queue.layer({ databaseUrl })))
    // Days, or turbine-days with --turbines: what the result counts.
    const asked = result.added + result.alreadyQueued + result.requeued
    const what = settings.assets === undefined ? "days" : "turbine-days"
    if (settings.json) {
      yield* out(`${JSON.stringify(result)}\n`)
    } else {
      yield* out(
        `queued ${result.added} of ${asked} ${what} (${result.alreadyQueued} already queued, ${result.requeued} requeued) for pipeline "${settings.pipeline}"; run them with: delfos-etl worker\n`
      )
    }
    return ExitCode.success
  }).pipe(logging(settings.verbose))

/** `backfill --distributed`: what the ledger says needs a run (as `backfill` plans it), queued. */
export const backfill = (
  settings: Settings.Settings,
  partitions: ReadonlyArray<Partition.Partition>,
  options: { readonly only: ReadonlyArray<Partitions.PartitionStatus>; readonly maxAttempts: number }
): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    const databaseUrl = yield* queueUrl(settings)
    const backfillOptions = { ...(yield* jobOptions(settings)), ...options }
    yield* Enqueue.validate(partitions[0]!, backfillOptions)
    const result = yield* Enqueue.backfill(partitions, backfillOptions).pipe(
      Effect.provide(Queue.layer({ databaseUrl }))
    )
    if (settings.json) {
      yield* out(`${JSON.stringify(result)}\n`)
    } else {
      yield* out(
        `queued ${result.added} of ${result.planned} ${settings.assets === undefined ? "days" : "turbine-days"} to run (${result.alreadyQueued} already queued, ${result.requeued} requeued; ` +
          `${result.skipped} skipped: not ${options.only.join(" or ")}) for pipeline "${settings.pipeline}"; run them with: delfos-etl worker\n`
      )
    }
    return ExitCode.success
  }).pipe(logging(settings.verbose))

export const runEnqueue = (flags: EnqueueFlags): Promise<number> =>
  execute(
    Effect.gen(function* () {
      const settings = yield* Settings.read(flags)
      const partitions = yield* Settings.partitions(flags, settings.timeZone)
      const maxAttempts = yield* Settings.integer("--max-attempts", flags.maxAttempts, defaults.maxAttempts, 1, 100)
      return yield* enqueue(settings, partitions, maxAttempts)
    }),
    { verbose: flags.verbose === true }
  )

/** The worker's options, everything checked before any I/O: a bad option exits 2 before a connection. */
const workerOptions = (flags: WorkerFlags) =>
  Effect.gen(function* () {
    const settings = yield* Settings.read(flags)
    const databaseUrl = yield* queueUrl(settings)
    const pollInterval = yield* Settings.seconds("--poll-interval", flags.pollInterval, defaults.pollInterval)
    const shutdownTimeout = yield* Settings.seconds(
      "--shutdown-timeout",
      flags.shutdownTimeout,
      defaults.shutdownTimeout,
      0
    )
    let schedule: Worker.WorkerOptions["schedule"]
    if (flags.cron !== undefined) {
      if (settings.startDay === undefined) {
        return yield* new Settings.UsageError({ message: "--cron needs --start-day: the pipeline's first day" })
      }
      const definition = { name: settings.pipeline, startDay: settings.startDay, timeZone: settings.timeZone }
      const { pipeline: _, ...job } = yield* jobOptions(settings)
      const options = {
        ...job,
        cron: flags.cron === true ? defaults.cron : String(flags.cron),
        lookback: yield* Settings.integer("--lookback", flags.lookback, defaults.lookback, 0, 366),
        only: yield* Settings.only(flags.only),
        maxAttempts: yield* Settings.integer("--max-attempts", flags.maxAttempts, defaults.maxAttempts, 1, 100)
      }
      yield* Schedule.validate(definition, options)
      schedule = { definition, options }
    }
    return {
      settings,
      options: {
        databaseUrl,
        concurrency: settings.concurrency,
        pollInterval: Math.round(pollInterval * 1000),
        shutdownTimeout: Math.round(shutdownTimeout * 1000),
        heartbeatInterval: settings.runner.heartbeatInterval,
        staleAfter: settings.runner.staleAfter,
        schedule
      } satisfies Worker.WorkerOptions
    }
  })

/**
 * `worker [run]`: takes jobs until SIGTERM/SIGINT, which interrupt it (running jobs get the
 * shutdown timeout to finish, exit 0); a second signal exits at once (exit 1), its running jobs
 * going back to the queue when its heartbeat stops.
 */
export const runWorker = (flags: WorkerFlags): Promise<number> => {
  let signals = 0
  const again = (signal: NodeJS.Signals) => {
    signals++
    if (signals === 1) {
      process.stderr.write(`worker: ${signal}, finishing running jobs (again to exit at once)\n`)
      return
    }
    process.stderr.write(`worker: ${signal} again, exiting at once (its running jobs go back to the queue)\n`)
    process.exit(ExitCode.failed)
  }
  process.on("SIGTERM", again)
  process.on("SIGINT", again)
  return execute(
    Effect.gen(function* () {
      const { options, settings } = yield* workerOptions(flags)
      return yield* Effect.scoped(
        Effect.gen(function* () {
          const worker = yield* Worker.start(options)
          process.stderr.write(
            `worker ${worker.id} (pid ${process.pid}) taking jobs from ${settings.databaseUrl === undefined ? "" : Settings.redactUrl(settings.databaseUrl)}, ${settings.concurrency} at a time` +
              (options.schedule === undefined
                ? "\n"
                : `, queueing the schedule "${options.schedule.options?.cron}" (${settings.timeZone}) from ${settings.startDay}\n`)
          )
          return yield* worker.done
        })
      ).pipe(logging(settings.verbose))
    }),
    { verbose: flags.verbose === true, interrupted: "success" }
  ).finally(() => {
    process.off("SIGTERM", again)
    process.off("SIGINT", again)
    if (signals > 0) process.stderr.write("worker: stopped\n")
  })
}
