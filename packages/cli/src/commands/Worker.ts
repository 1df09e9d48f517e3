/**
 * `delfos-etl worker` (take queued days until SIGTERM/SIGINT) and `delfos-etl worker enqueue` (and
 * `backfill --distributed`): the days as graphile-worker jobs in the target Postgres, run by any
 * number of worker processes on any machines. The only module that calls `@delfos/etl-worker`.
 */
import type { Partition } from "@delfos/etl"
import { Enqueue, Queue, Schedule, Worker } from "@delfos/etl-worker"
import { Connection } from "@delfos/postgres"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { consoleLogFactory, Logger } from "graphile-worker"
import { execute } from "../Execute.ts"
import * as ExitCode from "../ExitCode.ts"
import * as Failure from "../Failure.ts"
import { defaults } from "../Options.ts"
import * as Settings from "../Settings.ts"
import { out, type RunFlags } from "./Run.ts"
import { cron } from "./Schedule.ts"

/** The job queue could not be used: unreachable, or refused. */
export class QueueFailed extends Schema.TaggedError<QueueFailed>()("QueueFailed", { message: Schema.String }) {}

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
  readonly fill?: string | undefined
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

/** graphile-worker's own log: every job with --verbose, warnings and errors otherwise. */
const logger = (verbose: boolean) => (verbose ? new Logger(consoleLogFactory) : Queue.quietLogger)

const jobOptions = (settings: Settings.Settings) => ({
  pipeline: settings.pipeline,
  variables: settings.variables,
  statistics: settings.statistics,
  every: settings.every,
  sourceUrl: settings.sourceUrl
})

// The worker library throws and rejects; its usage errors (bad options) exit 2, the rest 1.
const fromWorker = (error: unknown) =>
  Failure.exitCode(error) === ExitCode.usage
    ? new Settings.UsageError({ message: Failure.line(error) })
    : new QueueFailed({ message: Failure.line(error) })

/** One queued job per day, never twice; for `worker enqueue` and `backfill --distributed`. */
export const enqueue = (
  settings: Settings.Settings,
  partitions: ReadonlyArray<Partition.Partition>,
  options: { readonly maxAttempts: number; readonly verbose: boolean }
): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    const databaseUrl = yield* queueUrl(settings)
    const result = yield* Effect.tryPromise({
      try: () =>
        Enqueue.enqueueRange({
          ...jobOptions(settings),
          databaseUrl,
          partitions,
          maxAttempts: options.maxAttempts,
          logger: logger(options.verbose)
        }),
      catch: fromWorker
    })
    if (settings.json) {
      yield* out(`${JSON.stringify(result)}\n`)
    } else {
      yield* out(
        `queued ${result.added} of ${partitions.length} days (${result.alreadyQueued} already queued, ${result.requeued} requeued) for pipeline "${settings.pipeline}"; run them with: delfos-etl worker\n`
      )
    }
    return ExitCode.success
  })

export const runEnqueue = (flags: EnqueueFlags): Promise<number> =>
  execute(
    Effect.gen(function* () {
      const settings = yield* Settings.read(flags)
      const partitions = yield* Settings.partitions(flags, settings.timeZone)
      const maxAttempts = yield* Settings.integer("--max-attempts", flags.maxAttempts, defaults.maxAttempts, 1, 100)
      return yield* enqueue(settings, partitions, { maxAttempts, verbose: settings.verbose })
    }),
    { verbose: flags.verbose === true }
  )

interface WorkerPlan {
  readonly settings: Settings.Settings
  readonly databaseUrl: string
  readonly pollInterval: number
  readonly shutdownTimeout: number
  readonly crontab: string | undefined
}

/** Everything checked before any I/O: a bad option exits 2 before a connection is opened. */
const plan = (flags: WorkerFlags) =>
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
    let crontab: string | undefined
    if (flags.cron !== undefined) {
      const pattern = yield* cron(flags.cron === true ? defaults.cron : String(flags.cron), settings.timeZone)
      const lookback = yield* Settings.integer("--lookback", flags.lookback, defaults.lookback, 0, 366)
      const maxAttempts = yield* Settings.integer("--max-attempts", flags.maxAttempts, defaults.maxAttempts, 1, 100)
      crontab = yield* Effect.try({
        // The worker queues yesterday at every tick and `lookback` days before it: the CLI's
        // `--lookback n` means the last n days up to yesterday, as `schedule` reads it.
        try: () =>
          Schedule.crontabFor({
            ...jobOptions(settings),
            cron: pattern,
            lookback: Math.max(0, lookback - 1),
            timeZone: settings.timeZone,
            fill: flags.fill,
            maxAttempts
          }),
        catch: fromWorker
      })
    }
    return { settings, databaseUrl, pollInterval, shutdownTimeout, crontab } satisfies WorkerPlan
  })

const say = (text: string) => process.stderr.write(`${text}\n`)

/** Runs a worker until SIGTERM/SIGINT (a second signal exits at once, its jobs go back to the queue). */
const work = async ({ crontab, databaseUrl, pollInterval, settings, shutdownTimeout }: WorkerPlan) => {
  const worker = await Worker.runWorker({
    databaseUrl,
    concurrency: settings.concurrency,
    pollInterval: Math.round(pollInterval * 1000),
    heartbeatInterval: settings.runner.heartbeatInterval,
    staleAfter: settings.runner.staleAfter,
    shutdownTimeout: Math.round(shutdownTimeout * 1000),
    crontab,
    logger: logger(settings.verbose)
  })
  say(
    `worker ${worker.id} (pid ${process.pid}) taking jobs from ${Connection.describe(databaseUrl)}, ${settings.concurrency} at a time` +
      (crontab === undefined ? "" : `, queueing yesterday on "${crontab.split(" delfos_")[0]}" (UTC)`)
  )
  let signals = 0
  const onSignal = (signal: NodeJS.Signals) => {
    signals++
    if (signals > 1) {
      say(`worker: ${signal} again, exiting at once (its running jobs go back to the queue)`)
      process.exit(ExitCode.failed)
    }
    say(`worker: ${signal}, finishing running jobs (again to exit at once)`)
    worker.stop().catch(() => undefined)
  }
  process.on("SIGTERM", onSignal)
  process.on("SIGINT", onSignal)
  try {
    await worker.done
    say("worker: stopped")
    return ExitCode.success
  } finally {
    process.off("SIGTERM", onSignal)
    process.off("SIGINT", onSignal)
  }
}

export const runWorker = async (flags: WorkerFlags): Promise<number> => {
  let planned: WorkerPlan | undefined
  const code = await execute(
    Effect.map(plan(flags), (value) => {
      planned = value
      return ExitCode.success
    }),
    { verbose: flags.verbose === true }
  )
  if (planned === undefined) return code
  try {
    return await work(planned)
  } catch (error) {
    const failure = fromWorker(error)
    process.stderr.write(`delfos-etl: ${failure.message}\n`)
    return Failure.exitCode(failure)
  }
}
