/**
 * The `delfos-etl-worker` command line: `run` (the default) keeps a worker taking jobs until
 * SIGTERM/SIGINT, `enqueue` queues a range of days. Exit codes: 0 success, 1 failure, 2 bad usage.
 *
 * Kept while `delfos-etl` calls it; `delfos-etl worker` is to run `Worker.run` in its own program.
 */
import { parseArgs } from "node:util"
import { Partition, Scheduler, Signal, Window } from "@delfos/etl"
import { Connection } from "@delfos/postgres"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Enqueue from "./Enqueue.ts"
import type * as Jobs from "./Jobs.ts"
import * as Queue from "./Queue.ts"
import * as Worker from "./Worker.ts"

export const exitCodes = { success: 0, failed: 1, usage: 2 } as const

export const help = `Usage: delfos-etl-worker [run] [options]        take partition jobs until SIGTERM/SIGINT
       delfos-etl-worker enqueue (--date D | --from D --to D) [options]

Runs @delfos/etl partitions as graphile-worker jobs queued in the target Postgres database. Start
as many workers, on as many machines, as you like: they share the queue.

Options:
  --database-url <url>        the target database, which holds the queue (env DATABASE_URL)
  --verbose                   print graphile-worker's info lines (each job) too

run:
  --concurrency <n>           jobs run at once by this worker (1)
  --poll-interval <ms>        how often to look for retries that fell due (2000)
  --heartbeat-interval <ms>   how often a running job beats in the ledger, and dead workers are looked for (5000)
  --stale-after <ms>          silence after which a job's worker is dead and the job runs elsewhere (30000)
  --shutdown-timeout <ms>     on SIGTERM, how long running jobs may finish before they are rolled back (5000)
  --cron <pattern>            also queue the schedule's ticks: a cron pattern in --timezone ("15 0 * * *")
  --start-day <day>           with --cron: the pipeline's first day; each tick queues missing and failed days since
  --lookback <n>              with --cron: the last n days, yesterday included, queued whatever their status (2)

enqueue:
  --date <day>                one day, YYYY-MM-DD
  --from <day> --to <day>     a range of days, both included

Job options (enqueue, --cron):
  --source-url <url>          the fonte API root (env SOURCE_API_URL; http://localhost:8000/api/v1)
  --pipeline <name>           the pipeline's name in the ledger (default)
  --variables <list>          comma-separated variables, or all (wind_speed,power)
  --statistics <list>         comma-separated statistics (mean,min,max,std,count), or all (mean,min,max,std)
  --timezone <zone>           the IANA time zone that defines a day (UTC)
  --every <length>            the window length, e.g. 10min, 1h (10min)
  --max-attempts <n>          attempts per partition before it fails for good (${Enqueue.defaultMaxAttempts})

Examples:
  $ DATABASE_URL=postgres://db/alvo delfos-etl-worker --concurrency 4
  $ delfos-etl-worker enqueue --from 2024-01-01 --to 2024-12-31 --source-url http://fonte:8000/api/v1
  $ delfos-etl-worker --cron "15 0 * * *" --start-day 2024-01-01 --source-url http://fonte:8000/api/v1
`

/** A command line that cannot be run as given: exit code 2. */
class UsageError extends Error {}

const options = {
  "database-url": { type: "string" },
  verbose: { type: "boolean" },
  concurrency: { type: "string" },
  "poll-interval": { type: "string" },
  "heartbeat-interval": { type: "string" },
  "stale-after": { type: "string" },
  "shutdown-timeout": { type: "string" },
  cron: { type: "string" },
  "start-day": { type: "string" },
  lookback: { type: "string" },
  date: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  "source-url": { type: "string" },
  pipeline: { type: "string" },
  variables: { type: "string" },
  statistics: { type: "string" },
  timezone: { type: "string" },
  every: { type: "string" },
  "max-attempts": { type: "string" },
  help: { type: "boolean", short: "h" }
} as const

type Flags = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>["values"]

const whole = (flag: string, text: string | undefined, minimum = 1): number | undefined => {
  if (text === undefined) return undefined
  const value = Number(text)
  if (!Number.isInteger(value) || value < minimum) {
    throw new UsageError(`invalid --${flag} "${text}": expected a whole number ≥ ${minimum}`)
  }
  return value
}

const list = (text: string | undefined, all: ReadonlyArray<string>): ReadonlyArray<string> | undefined => {
  if (text === undefined) return undefined
  if (text.trim() === "all") return all
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")
}

const firstError = <E>(cause: Cause.Cause<E>): E | undefined => Option.getOrUndefined(Cause.findErrorOption(cause))

const effectOrUsage = <A>(effect: Effect.Effect<A, { readonly message: string }>, prefix = ""): A => {
  const exit = Effect.runSyncExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  throw new UsageError(`${prefix}${firstError(exit.cause)?.message ?? "invalid value"}`)
}

const nonEmpty = (text: string | undefined) => (text === "" ? undefined : text)

const jobOptions = (flags: Flags, env: NodeJS.ProcessEnv): Jobs.JobOptions => ({
  pipeline: flags.pipeline,
  variables: list(flags.variables, Signal.knownVariables),
  statistics: list(flags.statistics, Signal.statistics),
  every: flags.every === undefined ? undefined : effectOrUsage(Window.parseLength(flags.every)),
  sourceUrl: flags["source-url"] ?? nonEmpty(env.SOURCE_API_URL)
})

/** The database, checked before any I/O: a missing or malformed URL is bad usage. */
const databaseOf = (flags: Flags, env: NodeJS.ProcessEnv): Connection.Target =>
  effectOrUsage(Connection.targetFrom(flags["database-url"], env))

const usageTags = new Set([
  "InvalidJob",
  "InvalidWorkerOptions",
  "InvalidCron",
  "MissingDatabaseUrl",
  "InvalidDatabaseUrl"
])

/**
 * Runs a program of the command to its exit code, printing its failure on one line. Log lines go to
 * stderr: warnings and errors, and with --verbose each job and tick too.
 */
const runProgram = async <E extends { readonly _tag: string; readonly message: string }>(
  flags: Flags,
  program: Effect.Effect<number, E>,
  onFork: (fiber: Fiber.Fiber<number, E>) => void = () => undefined
): Promise<number> => {
  const fiber = Effect.runFork(
    program.pipe(
      Effect.provideService(References.LogToStderr, true),
      Effect.provideService(References.MinimumLogLevel, flags.verbose === true ? "Debug" : "Warn")
    )
  )
  onFork(fiber)
  const exit = await Effect.runPromise(Fiber.await(fiber))
  if (Exit.isSuccess(exit)) return exit.value
  if (Cause.hasInterruptsOnly(exit.cause)) return exitCodes.success
  const error = firstError(exit.cause)
  if (error === undefined) throw Cause.squash(exit.cause)
  if (usageTags.has(error._tag)) throw new UsageError(error.message)
  process.stderr.write(`delfos-etl-worker: ${error.message}\n`)
  return exitCodes.failed
}

const enqueue = async (flags: Flags, env: NodeJS.ProcessEnv): Promise<number> => {
  const from = flags.date ?? flags.from
  const to = flags.date ?? flags.to ?? flags.from
  if (from === undefined || to === undefined || (flags.date !== undefined && flags.from !== undefined)) {
    throw new UsageError("enqueue needs --date D, or --from D (and --to D)")
  }
  const partitions = effectOrUsage(Partition.parseRange(from, to, flags.timezone ?? "UTC"))
  const job = jobOptions(flags, env)
  const maxAttempts = whole("max-attempts", flags["max-attempts"])
  // Checked before the database is touched, so that a bad option is a usage error.
  effectOrUsage(Enqueue.validate(partitions[0]!, { ...job, maxAttempts }))
  const target = databaseOf(flags, env)
  return runProgram(
    flags,
    Effect.gen(function* () {
      const result = yield* Enqueue.enqueue(partitions, { ...job, maxAttempts }).pipe(
        Effect.provide(Queue.layerFor(target))
      )
      process.stdout.write(
        `${from === to ? from : `${from} to ${to}`} (pipeline ${job.pipeline ?? "default"}): ${result.added} added, ` +
          `${result.alreadyQueued} already queued, ${result.requeued} requeued\n`
      )
      return exitCodes.success
    })
  )
}

const work = async (flags: Flags, env: NodeJS.ProcessEnv): Promise<number> => {
  const timeZone = flags.timezone ?? "UTC"
  let schedule: Worker.WorkerOptions["schedule"]
  if (flags.cron !== undefined) {
    effectOrUsage(
      Effect.flatMap(Partition.parse("2024-01-01", timeZone), (partition) =>
        Scheduler.parseCron(flags.cron!, partition.timeZone)
      ),
      `invalid --cron "${flags.cron}" (a crontab pattern, minute hour day month weekday, in --timezone): `
    )
    if (flags["start-day"] === undefined) throw new UsageError("--cron needs --start-day D, the pipeline's first day")
    const first = effectOrUsage(Partition.parse(flags["start-day"], timeZone))
    schedule = {
      definition: { name: flags.pipeline ?? "default", startDay: first.day, timeZone: first.timeZone },
      options: {
        ...jobOptions(flags, env),
        cron: flags.cron,
        lookback: whole("lookback", flags.lookback, 0),
        maxAttempts: whole("max-attempts", flags["max-attempts"])
      }
    }
  }
  const target = databaseOf(flags, env)
  const workerOptions: Worker.WorkerOptions = {
    databaseUrl: target.url,
    concurrency: whole("concurrency", flags.concurrency),
    pollInterval: whole("poll-interval", flags["poll-interval"]),
    heartbeatInterval: whole("heartbeat-interval", flags["heartbeat-interval"]),
    staleAfter: whole("stale-after", flags["stale-after"]),
    shutdownTimeout: whole("shutdown-timeout", flags["shutdown-timeout"], 0),
    schedule
  }
  let signals = 0
  let stop: (() => void) | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    signals++
    if (signals > 1) {
      // A second signal means now: the jobs still running go back to the queue once their heartbeat is stale.
      process.stderr.write(`delfos-etl-worker: ${signal} again, exiting at once\n`)
      process.exit(exitCodes.failed)
    }
    process.stderr.write(`delfos-etl-worker: ${signal}, finishing running jobs (again to exit at once)\n`)
    stop?.()
  }
  process.on("SIGTERM", onSignal)
  process.on("SIGINT", onSignal)
  try {
    const code = await runProgram(
      flags,
      Effect.scoped(
        Effect.gen(function* () {
          const worker = yield* Worker.start(workerOptions)
          process.stderr.write(
            `delfos-etl-worker: worker ${worker.id} (pid ${process.pid}) taking jobs from ${target.display}\n`
          )
          return yield* worker.done
        })
      ),
      (fiber) => {
        stop = () => fiber.interruptUnsafe()
        if (signals > 0) stop()
      }
    )
    if (code === exitCodes.success) process.stderr.write("delfos-etl-worker: stopped\n")
    return code
  } finally {
    process.off("SIGTERM", onSignal)
    process.off("SIGINT", onSignal)
  }
}

/** Runs the command line `argv` (as `process.argv`) to its exit code. */
export const main = async (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env): Promise<number> => {
  try {
    const { positionals, values } = parseArgs({ args: argv.slice(2), options, allowPositionals: true, strict: true })
    const [command = "run", ...rest] = positionals
    if (values.help === true) {
      process.stdout.write(help)
      return exitCodes.success
    }
    if (rest.length > 0 || (command !== "run" && command !== "enqueue")) {
      throw new UsageError(`unknown command "${positionals.join(" ")}": expected run or enqueue`)
    }
    return command === "enqueue" ? await enqueue(values, env) : await work(values, env)
  } catch (error) {
    const usage = error instanceof UsageError || isParseArgsError(error)
    process.stderr.write(`delfos-etl-worker: ${error instanceof Error ? error.message : String(error)}\n`)
    if (usage) process.stderr.write("(add --help for usage)\n")
    return usage ? exitCodes.usage : exitCodes.failed
  }
}

const isParseArgsError = (error: unknown) =>
  error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")
