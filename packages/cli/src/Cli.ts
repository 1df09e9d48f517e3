/**
 * The `delfos-etl` command line: commander parses, each command hands typed settings to one
 * Effect program (`Commands`, `Demo`), and this module turns the outcome into output and an exit
 * code (0 success, 1 a partition or the run failed, 2 bad usage).
 */

import { Scheduler } from "@delfos/etl"
import { Command, CommanderError, Option } from "commander"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Commands from "./Commands.ts"
import * as Failure from "./Failure.ts"
import * as Settings from "./Settings.ts"

/** Runs a program to its exit code; SIGINT/SIGTERM interrupt it (running partitions roll back). */
const execute = async (
  program: Effect.Effect<number, unknown>,
  verbose: boolean,
  interrupted: "failure" | "success" = "failure"
): Promise<number> => {
  const fiber = Effect.runFork(program)
  const stop = () => {
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  const exit = await Effect.runPromise(Fiber.await(fiber))
  process.off("SIGINT", stop)
  process.off("SIGTERM", stop)
  if (Exit.isSuccess(exit)) return exit.value
  const { code, text } = Failure.fromCause(exit.cause, verbose)
  if (code === 130 && interrupted === "success") return Failure.exitCodes.success
  process.stderr.write(`delfos-etl: ${text}\n`)
  return code
}

const pipelineOptions = (command: Command): Command =>
  command
    .addOption(
      new Option("--source-url <url>", "the fonte API root")
        .env("SOURCE_API_URL")
        .default(undefined, "http://localhost:8000/api/v1")
    )
    .addOption(new Option("--database-url <url>", "the target Postgres").env("DATABASE_URL"))
    .option("--data-dir <dir>", "where the embedded database lives when no database URL is given", ".delfos")
    .option("--variables <list>", "comma-separated variables, or all", "wind_speed,power")
    .option("--statistics <list>", "comma-separated statistics (mean,min,max,std,count), or all", "mean,min,max,std")
    .option("--timezone <zone>", "the IANA time zone that defines a day", "UTC")
    .option("--every <length>", "the window length, e.g. 10min, 1h", "10min")
    .option("--pipeline <name>", "the pipeline's name in the run ledger", "default")
    .option("--start-day <day>", "the pipeline's first day (status and schedule count partitions from it)")
    .option("--json", "print JSON for scripts")
    .option("--verbose", "print stack traces on unexpected failures")

/** Commands that run days: how often a running day's heartbeat is written to the ledger. */
const heartbeatOption = (command: Command): Command =>
  command.addOption(
    new Option(
      "--heartbeat-interval <seconds>",
      "how often a running day's heartbeat is written to the ledger"
    ).default(undefined, "5")
  )

/** Commands that read days' status: when a running day's silence means its process died. */
const staleAfterOption = (command: Command): Command =>
  command.addOption(
    new Option(
      "--stale-after <seconds>",
      "a running day without a heartbeat this long was abandoned (and counts as failed)"
    ).default(undefined, "30")
  )

const livenessOptions = (command: Command): Command => staleAfterOption(heartbeatOption(command))

/** Commands that load days: what to do with a day the source has no samples for. */
const emptyOptions = (command: Command): Command =>
  command.option(
    "--allow-empty",
    "load a day the source has no samples for, removing its rows (by default it ends `empty` and keeps them)"
  )

const examples = (lines: ReadonlyArray<string>) => `\nExamples:\n${lines.map((line) => `  $ ${line}`).join("\n")}\n`

interface RunFlags extends Settings.RawOptions {
  readonly date?: string
  readonly from?: string
  readonly to?: string
}

const runAction = (flags: RunFlags) =>
  execute(
    Effect.flatMap(Settings.read(flags), (settings) =>
      Effect.flatMap(Settings.partitions(flags, settings.timeZone), (partitions) => Commands.run(settings, partitions))
    ),
    flags.verbose === true
  )

/** Builds the program; `run` resolves to the exit code. */
export const program = (setExitCode: (code: number) => void): Command => {
  const root = new Command("delfos-etl")
    .description("Wind-farm sensor ETL: 1-minute samples from the fonte API to 10-minute statistics in Postgres")
    .version("0.1.0")
    .showHelpAfterError("(add --help for usage)")
    // Options after a command name belong to that command (they share names with the root's).
    .enablePositionalOptions()
    .option("--date <day>", "run one day, YYYY-MM-DD (same as `run --date`)")
  heartbeatOption(emptyOptions(pipelineOptions(root)))
    .addHelpText(
      "after",
      examples([
        "delfos-etl demo",
        "delfos-etl --date 2024-01-01",
        "delfos-etl run --from 2024-01-01 --to 2024-01-31 --concurrency 4",
        "delfos-etl status --json",
        "delfos-etl worker --concurrency 2   # take queued days (see delfos-etl worker --help)"
      ])
    )
    .action(async (flags: RunFlags) => {
      if (flags.date === undefined) {
        root.outputHelp()
        setExitCode(Failure.exitCodes.usage)
        return
      }
      setExitCode(await runAction(flags))
    })

  heartbeatOption(
    emptyOptions(
      pipelineOptions(
        root
          .command("run")
          .description("extract, transform and load one day or a range of days")
          .option("--date <day>", "one day, YYYY-MM-DD")
          .option("--from <day>", "the first day of a range")
          .option("--to <day>", "the last day of a range (included)")
          .option("--concurrency <n>", "days run at once", "1")
      )
    )
  )
    .addHelpText(
      "after",
      examples([
        "delfos-etl run --date 2024-01-01",
        "delfos-etl run --from 2024-01-01 --to 2024-12-31 --concurrency 4",
        "delfos-etl run --date 2024-03-31 --timezone Europe/Berlin --variables all --statistics all",
        "DATABASE_URL=postgres://localhost/alvo delfos-etl run --date 2024-01-01 --json"
      ])
    )
    .action(async (flags: RunFlags) => setExitCode(await runAction(flags)))

  pipelineOptions(root.command("migrate").description("create or update the target's schema"))
    .addHelpText(
      "after",
      examples(["delfos-etl migrate", "delfos-etl migrate --database-url postgres://localhost/alvo"])
    )
    .action(async (flags: Settings.RawOptions) =>
      setExitCode(await execute(Effect.flatMap(Settings.read(flags), Commands.migrate), flags.verbose === true))
    )

  staleAfterOption(
    pipelineOptions(
      root
        .command("status")
        .description("the run ledger: the latest run of each day")
        .option("--from <day>", "the first day to show")
        .option("--to <day>", "the last day to show")
    )
  )
    .addHelpText(
      "after",
      examples([
        "delfos-etl status",
        "delfos-etl status --from 2024-01-01 --to 2024-12-31",
        "delfos-etl status --from 2024-01-01 --to 2024-01-31 --json"
      ])
    )
    .action(async (flags: RunFlags) =>
      setExitCode(
        await execute(
          Effect.gen(function* () {
            const settings = yield* Settings.read(flags)
            const days = yield* Settings.dayBounds(flags)
            return yield* Commands.status(settings, days)
          }),
          flags.verbose === true
        )
      )
    )

  root
    .command("demo")
    .description("the whole job with nothing installed: embedded fonte and target, seed, ETL, a summary")
    .option("--days <n>", "days to seed and run", "3")
    .option("--start-date <day>", "the first day", "2024-01-01")
    .option("--verbose", "print stack traces on unexpected failures")
    .addHelpText("after", examples(["delfos-etl demo", "delfos-etl demo --days 7"]))
    .action(async (flags: { days: string; startDate: string; verbose?: boolean }) =>
      setExitCode(
        await execute(
          Effect.gen(function* () {
            const days = Number(flags.days)
            if (!Number.isInteger(days) || days < 1 || days > 31) {
              return yield* new Settings.UsageError({ message: `invalid --days "${flags.days}": expected 1 to 31` })
            }
            yield* Settings.partitions({ date: flags.startDate }, "UTC" as never)
            // The demo brings the fonte server and PGlite: loaded only for it.
            const Demo = yield* Effect.promise(() => import("./Demo.ts"))
            return yield* Demo.demo({ days, startDate: flags.startDate })
          }),
          flags.verbose === true
        )
      )
    )

  livenessOptions(
    emptyOptions(
      pipelineOptions(
        root
          .command("backfill")
          .description("run the days of a range that need it, retrying failures with backoff; resumable")
          .requiredOption("--from <day>", "the first day")
          .option("--to <day>", "the last day (included); the first day when absent")
          .option(
            "--only <statuses>",
            "which partitions to run: missing, failed, empty, running, succeeded",
            "missing,failed"
          )
          .option("--concurrency <n>", "days run at once", "1")
          .option("--max-attempts <k>", "attempts per day, the first included", "3")
          .option("--max-requests-per-second <r>", "start at most r source requests a second")
          .option("--distributed", "queue one job per day for `delfos-etl worker` processes instead of running here")
      )
    )
  )
    .addHelpText(
      "after",
      examples([
        "delfos-etl backfill --from 2024-01-01 --to 2024-12-31 --concurrency 4",
        "delfos-etl backfill --from 2024-01-01 --to 2024-12-31 --distributed   # then: delfos-etl worker, on any machines",
        "delfos-etl backfill --from 2024-01-01 --to 2024-01-31 --only failed --max-attempts 5",
        "delfos-etl backfill --from 2024-01-01 --to 2024-01-31 --only missing,failed,empty   # ask again for days that had no data",
        "delfos-etl backfill --from 2023-01-01 --to 2023-12-31 --max-requests-per-second 5",
        "# interrupted or killed? the same command again does only what is left"
      ])
    )
    .action(
      async (
        flags: RunFlags & { only?: string; maxAttempts?: string; maxRequestsPerSecond?: string; distributed?: boolean }
      ) =>
        setExitCode(
          await execute(
            Effect.gen(function* () {
              const settings = yield* Settings.read(flags)
              const partitions = yield* Settings.partitions(flags, settings.timeZone)
              if (flags.distributed === true) {
                return yield* Commands.enqueue(settings, partitions, {
                  maxAttempts: yield* Settings.integer("--max-attempts", flags.maxAttempts, 3, 1, 100)
                })
              }
              return yield* Commands.backfill(settings, partitions, {
                only: yield* Settings.only(flags.only),
                maxAttempts: yield* Settings.integer("--max-attempts", flags.maxAttempts, 3, 1, 100),
                maxRequestsPerSecond: yield* Settings.rate("--max-requests-per-second", flags.maxRequestsPerSecond)
              })
            }),
            flags.verbose === true
          )
        )
    )

  livenessOptions(
    emptyOptions(
      pipelineOptions(
        root
          .command("schedule")
          .description(
            "a long-running process: on each cron tick, run the days that are due; catches up after downtime"
          )
          .option("--cron <expression>", "when to run, in --timezone", "15 0 * * *")
          .option("--lookback <days>", "the last days re-run on every tick, for late data", "2")
          .option("--only <statuses>", "earlier days to run when missed: missing, failed, empty", "missing,failed")
          .option("--concurrency <n>", "days run at once", "1")
          .option("--max-attempts <k>", "attempts per day and tick", "3")
          .option("--max-requests-per-second <r>", "start at most r source requests a second")
      )
    )
  )
    .addHelpText(
      "after",
      examples([
        "delfos-etl schedule --start-day 2024-01-01",
        'delfos-etl schedule --start-day 2024-01-01 --cron "30 1 * * *" --timezone America/Sao_Paulo --lookback 3'
      ])
    )
    .action(
      async (
        flags: RunFlags & {
          cron: string
          lookback?: string
          only?: string
          maxAttempts?: string
          maxRequestsPerSecond?: string
        }
      ) =>
        setExitCode(
          await execute(
            Effect.gen(function* () {
              const settings = yield* Settings.read(flags)
              if (settings.startDay === undefined) {
                return yield* new Settings.UsageError({
                  message: "schedule needs --start-day: the pipeline's first day"
                })
              }
              yield* Scheduler.parseCron(flags.cron, settings.timeZone).pipe(
                Effect.mapError((error) => new Settings.UsageError({ message: error.message }))
              )
              return yield* Commands.schedule(settings, {
                cron: flags.cron,
                lookback: yield* Settings.integer("--lookback", flags.lookback, 2, 0, 366),
                startDay: settings.startDay,
                only: yield* Settings.only(flags.only),
                maxAttempts: yield* Settings.integer("--max-attempts", flags.maxAttempts, 3, 1, 100),
                maxRequestsPerSecond: yield* Settings.rate("--max-requests-per-second", flags.maxRequestsPerSecond)
              })
            }),
            flags.verbose === true,
            "success"
          )
        )
    )

  const fonte = root.command("fonte").description("the reference fonte server")
  fonte
    .command("serve")
    .description("serve the fonte API (embedded database unless --database-url)")
    .option("--port <port>", "the port", "8000")
    .option("--host <host>", "the address to listen on", "127.0.0.1")
    .addOption(new Option("--database-url <url>", "the fonte's Postgres").env("FONTE_DATABASE_URL"))
    .option("--data-dir <dir>", "where the embedded database lives", ".delfos")
    .addHelpText(
      "after",
      examples([
        "delfos-etl fonte serve",
        "delfos-etl fonte serve --port 8000 --database-url postgres://localhost/fonte"
      ])
    )
    .action(async (flags: { port: string; host: string; databaseUrl?: string; dataDir: string }) => {
      const port = Number(flags.port)
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        process.stderr.write(`delfos-etl: invalid --port "${flags.port}"\n`)
        setExitCode(Failure.exitCodes.usage)
        return
      }
      setExitCode(
        await execute(
          Effect.as(
            Commands.serve({ port, host: flags.host, databaseUrl: flags.databaseUrl, dataDir: flags.dataDir }),
            0
          ),
          false,
          "success"
        )
      )
    })

  fonte
    .command("seed")
    .description("seed days of synthetic samples, through a running server or straight into a database")
    .requiredOption("--start-date <day>", "the first day, YYYY-MM-DD")
    .option("--days <n>", "how many days", "1")
    .option("--seed <n>", "the generator's seed", "42")
    .option("--url <url>", "a running fonte server", "http://localhost:8000")
    .addOption(new Option("--database-url <url>", "seed this Postgres directly instead").env("FONTE_DATABASE_URL"))
    .addHelpText(
      "after",
      examples([
        "delfos-etl fonte seed --start-date 2024-01-01 --days 10",
        "delfos-etl fonte seed --start-date 2024-01-01 --days 10 --seed 7 --database-url postgres://localhost/fonte"
      ])
    )
    .action(async (flags: { startDate: string; days: string; seed: string; url: string; databaseUrl?: string }) =>
      setExitCode(
        await execute(
          Effect.gen(function* () {
            yield* Settings.partitions({ date: flags.startDate }, "UTC" as never)
            const days = Number(flags.days)
            const seed = Number(flags.seed)
            if (!Number.isInteger(days) || days < 1 || days > 366) {
              return yield* new Settings.UsageError({ message: `invalid --days "${flags.days}": expected 1 to 366` })
            }
            if (!Number.isSafeInteger(seed) || seed < 0) {
              return yield* new Settings.UsageError({
                message: `invalid --seed "${flags.seed}": expected a whole number ≥ 0`
              })
            }
            return yield* Commands.seed({
              startDate: flags.startDate,
              days,
              seed,
              url: flags.url,
              databaseUrl: flags.databaseUrl
            })
          }),
          false
        )
      )
    )
  return root
}

/** Parses `argv` (as `process.argv`) and runs the command; resolves to the exit code. */
export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  // `delfos-etl worker …` is the worker package's own command line, loaded only for it.
  if (argv[2] === "worker") {
    const { Cli: WorkerCli } = await import("@delfos/etl-worker")
    return WorkerCli.main([argv[0] ?? "node", "delfos-etl worker", "run", ...argv.slice(3)])
  }
  let code = Failure.exitCodes.success as number
  const root = program((value) => {
    code = value
  })
  root.exitOverride()
  for (const command of root.commands) command.exitOverride()
  try {
    await root.parseAsync([...argv])
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : Failure.exitCodes.usage
    }
    throw error
  }
  return code
}
