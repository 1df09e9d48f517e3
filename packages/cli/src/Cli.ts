/**
 * The `delfos-etl` command line: commander parses, and each command's module (`commands/*.ts`),
 * loaded only when that command runs, hands typed settings to one Effect program and returns the
 * exit code (0 success, 1 failure, 2 bad usage). This module loads commander and nothing else, so
 * `--help` and `--version` start fast.
 */
import { readFileSync } from "node:fs"
import { Command, CommanderError } from "commander"
import type { BackfillFlags } from "./commands/Backfill.ts"
import type { DemoFlags } from "./commands/Demo.ts"
import type { SeedFlags, ServeFlags } from "./commands/Fonte.ts"
import type { RunFlags } from "./commands/Run.ts"
import type { ScheduleFlags } from "./commands/Schedule.ts"
import type { StatusFlags } from "./commands/Status.ts"
import type { EnqueueFlags, WorkerFlags } from "./commands/Worker.ts"
import * as ExitCode from "./ExitCode.ts"
import * as Options from "./Options.ts"
import type { RawOptions } from "./Settings.ts"

const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
  .version

/**
 * A commander message as our one line: `error: unknown command 'rn'\n(Did you mean run?)` becomes
 * `unknown command "rn" (did you mean run?)`.
 */
export const usageLine = (message: string): string =>
  message
    .replace(/^error: /, "")
    .replace(/'([^']*)'/g, '"$1"')
    .replace(/\s*\n\s*\(Did you mean/g, " (did you mean")
    .replace(/\s*\n\s*/g, " ")
    .trim()

/** commander's own "unknown command" error, with its suggestion (a method its typings leave out). */
const unknownCommand = (parent: Command, args: ReadonlyArray<string>): never => {
  const command = parent as unknown as { args: Array<string>; unknownCommand: () => never }
  command.args = [...args]
  return command.unknownCommand()
}

/** Builds the command tree; each action hands its exit code to `exit`. */
export const program = (exit: (code: number) => void): Command => {
  /** An action that loads its command's module when it runs. */
  const lazy =
    <F>(load: () => Promise<(flags: F) => Promise<number>>) =>
    async (flags: F) => {
      exit(await (await load())(flags))
    }

  const { add, defaults, examples, option } = Options
  const root = new Command("delfos-etl")
    // Set before the commands are added: every command inherits them.
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`delfos-etl: ${usageLine(text)}\n`) })
    .showSuggestionAfterError(true)
    .description("Wind-farm sensor ETL: 1-minute samples from the fonte API to 10-minute statistics in Postgres")
    .version(version)
    // Options after a command's name are that command's (they share names with the root's).
    .enablePositionalOptions()
    .option("--date <day>", "run one day, YYYY-MM-DD (same as `run --date`)")
  add(root, Options.pipeline, Options.fleet, Options.allowEmpty, Options.heartbeat, Options.output).addHelpText(
    "after",
    examples([
      "delfos-etl demo                                  # the whole job, nothing to install",
      "delfos-etl --date 2024-01-01                     # the reference's call: one day",
      "delfos-etl run --from 2024-01-01 --to 2024-01-31 --concurrency 4",
      "delfos-etl run --date 2024-01-01 --turbines all --min-coverage 0.8   # a whole farm",
      "delfos-etl backfill --from 2024-01-01 --to 2024-12-31",
      "delfos-etl status",
      "delfos-etl ui                                    # the web UI over the target, on a free port",
      "delfos-etl fonte serve --port 8000               # the fonte API, on an embedded database",
      "delfos-etl worker --concurrency 2                # take queued days (see worker --help)",
      "# every command has --help with its options and examples; exit codes: 0 ok, 1 failed, 2 bad usage"
    ])
  )

  add(
    root
      .command("run")
      .description("extract, transform and load one day or a range of days")
      .option("--date <day>", "one day, YYYY-MM-DD")
      .option("--from <day>", "the first day of a range")
      .option("--to <day>", "the last day of a range (included)"),
    Options.pipeline,
    Options.fleet,
    Options.concurrency,
    Options.allowEmpty,
    Options.heartbeat,
    Options.output
  )
    .addHelpText(
      "after",
      examples([
        "delfos-etl run --date 2024-01-01",
        "delfos-etl run --from 2024-01-01 --to 2024-12-31 --concurrency 4",
        "delfos-etl run --date 2024-03-31 --timezone Europe/Berlin --variables all --statistics all",
        "delfos-etl run --from 2024-01-01 --to 2024-01-31 --turbines all --batch-size 25 --concurrency 2",
        "delfos-etl run --date 2024-01-01 --turbines WTG01,WTG07 --min-coverage 0.8 --strict",
        "DATABASE_URL=postgres://localhost/alvo delfos-etl run --date 2024-01-01 --json"
      ])
    )
    .action(lazy<RunFlags>(async () => (await import("./commands/Run.ts")).run))

  add(
    root
      .command("status")
      .description("the run ledger: each day's latest run, as a calendar with totals, or JSON")
      .option("--from <day>", "the first day to show (default: the pipeline's first, as far back as fits)")
      .option("--to <day>", "the last day to show (default: yesterday)")
      .option("--start-day <day>", "the pipeline's first day (default: the first in the ledger)")
      .option("--turbine <id>", "one turbine's days (default: every turbine in the ledger, a day per cell)"),
    Options.pipeline,
    Options.turbines,
    Options.staleAfter,
    Options.output
  )
    .addHelpText(
      "after",
      examples([
        "delfos-etl status",
        "delfos-etl status --from 2024-01-01 --to 2024-12-31",
        "delfos-etl status --turbine WTG07                   # one turbine of a farm",
        "delfos-etl status --from 2024-01-01 --to 2024-01-31 --json"
      ])
    )
    .action(lazy<StatusFlags>(async () => (await import("./commands/Status.ts")).run))

  add(
    root
      .command("backfill")
      .description("run the days of a range that need it, retrying failures with backoff; resumable")
      .requiredOption("--from <day>", "the first day")
      .option("--to <day>", "the last day (included); the first day when absent")
      .addOption(
        option(
          "--only <statuses>",
          "which days to run: some of missing, failed, empty, running, succeeded",
          defaults.only
        )
      )
      .option("--distributed", "queue the days that need it as jobs for `delfos-etl worker` processes instead"),
    Options.pipeline,
    Options.fleet,
    Options.concurrency,
    Options.allowEmpty,
    Options.heartbeat,
    Options.staleAfter,
    Options.maxAttempts("(waits 1, 2, 4, 8 s between them)"),
    Options.rate,
    Options.output
  )
    .addHelpText(
      "after",
      examples([
        "delfos-etl backfill --from 2024-01-01 --to 2024-12-31 --concurrency 4",
        "delfos-etl backfill --from 2024-01-01 --to 2024-12-31 --distributed   # then: delfos-etl worker, anywhere",
        "delfos-etl backfill --from 2024-01-01 --to 2024-01-31 --only failed --max-attempts 8",
        "delfos-etl backfill --from 2024-01-01 --to 2024-12-31 --turbines all --only failed   # only the turbine-days that failed",
        "delfos-etl backfill --from 2024-01-01 --to 2024-01-31 --only missing,failed,empty   # ask again for days that had no data",
        "delfos-etl backfill --from 2023-01-01 --to 2023-12-31 --max-requests-per-second 5",
        "# interrupted or killed? the same command again does only what is left"
      ])
    )
    .action(lazy<BackfillFlags>(async () => (await import("./commands/Backfill.ts")).run))

  add(
    root
      .command("schedule")
      .description("a long-running process: on each cron tick, run the days that are due; catches up after downtime")
      .option("--start-day <day>", "the pipeline's first day (required)")
      .addOption(option("--cron <expression>", "when to run, read in --timezone", defaults.cron))
      .addOption(
        option(
          "--lookback <days>",
          "the last days up to yesterday run again on every tick, for late data",
          defaults.lookback
        )
      )
      .addOption(
        option("--only <statuses>", "earlier days to run when missed: some of missing, failed, empty", defaults.only)
      ),
    Options.pipeline,
    Options.fleet,
    Options.concurrency,
    Options.allowEmpty,
    Options.heartbeat,
    Options.staleAfter,
    Options.maxAttempts("and tick (waits 1, 2, 4, 8 s between them)"),
    Options.rate,
    Options.output
  )
    .addHelpText(
      "after",
      examples([
        "delfos-etl schedule --start-day 2024-01-01",
        'delfos-etl schedule --start-day 2024-01-01 --cron "30 1 * * *" --timezone America/Sao_Paulo --lookback 3',
        "delfos-etl schedule --start-day 2024-01-01 --turbines all --min-coverage 0.8",
        "# SIGINT/SIGTERM stop it (exit 0); a day it was running rolls back and runs again next time"
      ])
    )
    .action(lazy<ScheduleFlags>(async () => (await import("./commands/Schedule.ts")).run))

  add(root.command("migrate").description("create or update the target's schema"), Options.database, Options.output)
    .addHelpText(
      "after",
      examples([
        "delfos-etl migrate",
        "delfos-etl migrate --database-url postgres://localhost/alvo",
        "# every command that writes migrates too: this does it ahead, and says what it found"
      ])
    )
    .action(lazy<RawOptions>(async () => (await import("./commands/Migrate.ts")).run))

  add(
    root
      .command("ui")
      .description("a web UI over the target, read-only: the fleet × day grid, runs and quality, 10-minute series")
      .addOption(option("--port <port>", "the port (0 picks a free one)", 0))
      .addOption(option("--host <host>", "the address to listen on", defaults.host))
      .addOption(
        option(
          "--source-url <url>",
          "the fonte API root, for the raw samples beside a window (none: no raw samples)"
        ).env("SOURCE_API_URL")
      )
      .addOption(option("--pipeline <name>", "the pipeline shown first (default: the ledger's most recent)"))
      .addOption(
        option(
          "--stale-after <seconds>",
          "a running day without a heartbeat this long shows as failed",
          defaults.staleAfter
        )
      ),
    Options.database
  )
    .option("--verbose", "print stack traces on unexpected failures")
    .addHelpText(
      "after",
      examples([
        "delfos-etl ui                                    # the embedded database in .delfos/, a free port",
        "delfos-etl ui --port 8080 --database-url postgres://localhost/alvo",
        "delfos-etl ui --source-url http://localhost:8000/api/v1   # raw samples beside a window",
        "# prints the URL to open; read-only; SIGINT/SIGTERM stop it (exit 0)"
      ])
    )
    .action(lazy<import("./commands/Ui.ts").UiFlags>(async () => (await import("./commands/Ui.ts")).run))

  root
    .command("demo")
    .description("the whole job with nothing installed: embedded fonte and target, seed, ETL, a summary")
    .addOption(option("--days <n>", "days to seed and run, 1 to 31", 3))
    .addOption(option("--start-date <day>", "the first day", "2024-01-01"))
    .addOption(option("--turbines <n>", "a farm of n turbines, 1 to 100 (none: the reference's one series)"))
    .option("--ui", "then serve the web UI over the demo's database until Ctrl-C (a farm of 10 unless --turbines)")
    .option("--verbose", "print stack traces on unexpected failures")
    .addHelpText(
      "after",
      examples([
        "delfos-etl demo",
        "delfos-etl demo --days 7",
        "delfos-etl demo --turbines 10   # a farm, with its faults",
        "delfos-etl demo --ui            # a farm of 10, then look at it in the browser"
      ])
    )
    .action(lazy<DemoFlags>(async () => (await import("./commands/Demo.ts")).run))

  const worker = root
    .command("worker")
    .description("run queued days as graphile-worker jobs in the target Postgres: `worker [run]`, `worker enqueue`")
    .addHelpText(
      "after",
      examples([
        "DATABASE_URL=postgres://db/alvo delfos-etl worker --concurrency 4",
        "delfos-etl worker enqueue --from 2024-01-01 --to 2024-12-31 --source-url http://fonte:8000/api/v1",
        "delfos-etl worker --cron --start-day 2024-01-01 --source-url http://fonte:8000/api/v1",
        "# as many workers on as many machines as you like: they share the queue"
      ])
    )
  // The queue lives in the target database: a Postgres server, never the embedded database.
  const queue = (command: Command) =>
    command.addOption(
      option("--database-url <url>", "the target Postgres, which holds the queue too").env("DATABASE_URL")
    )
  add(
    worker
      .command("run", { isDefault: true })
      .description("take queued days until SIGTERM/SIGINT (the default: `delfos-etl worker` is `worker run`)")
      .addOption(
        option(
          "--poll-interval <seconds>",
          "how often to look for retries that fell due (new jobs arrive at once)",
          defaults.pollInterval
        )
      )
      .addOption(
        option(
          "--shutdown-timeout <seconds>",
          "on SIGTERM, how long running jobs may finish before they are rolled back",
          defaults.shutdownTimeout
        )
      )
      .option("--cron [expression]", `also queue a schedule's ticks, read in --timezone (alone: "${defaults.cron}")`)
      .option(
        "--start-day <day>",
        "with --cron: the pipeline's first day; each tick queues the missing and failed days since"
      )
      .addOption(
        option(
          "--lookback <days>",
          "with --cron: the last days up to yesterday queued again on every tick",
          defaults.lookback
        )
      )
      .addOption(option("--only <statuses>", "with --cron: earlier days to queue when missed", defaults.only)),
    queue,
    Options.job,
    Options.turbines,
    Options.batchSize,
    Options.quality,
    Options.allowEmpty,
    Options.concurrency,
    Options.heartbeat,
    Options.staleAfter,
    Options.maxAttempts("(graphile-worker waits e^n s between them)")
  )
    .option("--verbose", "graphile-worker's line for every job, and stack traces on unexpected failures")
    .addHelpText(
      "after",
      examples([
        "DATABASE_URL=postgres://db/alvo delfos-etl worker --concurrency 4",
        'delfos-etl worker --cron "0 2 * * *" --start-day 2024-01-01 --timezone Europe/Lisbon --source-url http://fonte:8000/api/v1',
        "delfos-etl worker --verbose   # graphile-worker's line for every job too"
      ])
    )
    // `worker enqeue` reaches the default command as an argument: a mistyped command of `worker`.
    .allowExcessArguments(true)
    .action(async (flags: WorkerFlags, command: Command) => {
      if (command.args.length > 0) unknownCommand(worker, command.args)
      await lazy<WorkerFlags>(async () => (await import("./commands/Worker.ts")).runWorker)(flags)
    })
  add(
    worker
      .command("enqueue")
      .description("queue one job per day (never twice) for the workers")
      .option("--date <day>", "one day, YYYY-MM-DD")
      .option("--from <day>", "the first day of a range")
      .option("--to <day>", "the last day of a range (included)"),
    queue,
    Options.job,
    Options.turbines,
    Options.batchSize,
    Options.quality,
    Options.allowEmpty,
    Options.maxAttempts("(graphile-worker waits e^n s between them)"),
    Options.output
  )
    .addHelpText(
      "after",
      examples([
        "delfos-etl worker enqueue --date 2024-01-01",
        "delfos-etl worker enqueue --from 2024-01-01 --to 2024-12-31 --source-url http://fonte:8000/api/v1 --json",
        "delfos-etl worker enqueue --from 2024-01-01 --to 2024-01-31 --turbines all --batch-size 10 --min-coverage 0.8"
      ])
    )
    .action(lazy<EnqueueFlags>(async () => (await import("./commands/Worker.ts")).runEnqueue))

  const fonte = root
    .command("fonte")
    .description("the reference fonte server: `fonte serve`, `fonte seed`")
    .addHelpText(
      "after",
      examples(["delfos-etl fonte serve --port 8000", "delfos-etl fonte seed --start-date 2024-01-01 --days 10"])
    )
  fonte
    .command("serve")
    .description("serve the fonte API until SIGINT/SIGTERM (an embedded database unless --database-url)")
    .addOption(option("--port <port>", "the port (0 picks a free one)", defaults.port))
    .addOption(option("--host <host>", "the address to listen on", defaults.host))
    .addOption(
      option("--database-url <url>", "the fonte's Postgres (none: the embedded database)").env("FONTE_DATABASE_URL")
    )
    .addOption(option("--data-dir <dir>", "where the embedded database lives (in <dir>/fonte)", defaults.dataDir))
    .option("--quiet", "no line per request")
    .option("--verbose", "print stack traces on unexpected failures")
    .addHelpText(
      "after",
      examples([
        "delfos-etl fonte serve",
        "delfos-etl fonte serve --port 8000 --database-url postgres://localhost/fonte",
        "delfos-etl fonte serve --port 0 --quiet   # a free port, no request log"
      ])
    )
    .action(lazy<ServeFlags>(async () => (await import("./commands/Fonte.ts")).serve))
  fonte
    .command("seed")
    .description("seed days of synthetic samples, through a running server or straight into its database")
    .requiredOption("--start-date <day>", "the first day, YYYY-MM-DD")
    .addOption(option("--days <n>", "how many days, 1 to 366", 1))
    .addOption(option("--seed <n>", "the generator's seed", defaults.seed))
    .addOption(option("--turbines <n>", "a farm of n turbines, WTG01… (none: one turbine, the reference's)"))
    .addOption(
      option(
        "--url <url>",
        "a running fonte server (one still starting gets 10 s)",
        `http://localhost:${defaults.port}`
      )
    )
    .addOption(option("--database-url <url>", "seed this Postgres directly instead").env("FONTE_DATABASE_URL"))
    .option("--verbose", "print stack traces on unexpected failures")
    .addHelpText(
      "after",
      examples([
        "delfos-etl fonte seed --start-date 2024-01-01 --days 10",
        "delfos-etl fonte seed --start-date 2024-01-01 --days 10 --seed 7 --database-url postgres://localhost/fonte",
        "delfos-etl fonte seed --start-date 2024-01-01 --days 30 --turbines 20   # a farm, with a few faulty turbines"
      ])
    )
    .action(lazy<SeedFlags>(async () => (await import("./commands/Fonte.ts")).seed))

  // The root runs a day with --date; anything else there is a mistyped command.
  root.allowExcessArguments(true).action(async (flags: RunFlags, command: Command) => {
    if (command.args.length > 0) unknownCommand(root, command.args)
    if (flags.date === undefined) {
      root.outputHelp()
      exit(ExitCode.usage)
      return
    }
    await lazy<RunFlags>(async () => (await import("./commands/Run.ts")).run)(flags)
  })
  return root
}

/** Parses `argv` (as `process.argv`) and runs the command; resolves to the exit code. */
export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  let code: number = ExitCode.success
  const root = program((value) => {
    code = value
  })
  try {
    await root.parseAsync([...argv])
  } catch (error) {
    // --help and --version end here too, with exit code 0.
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.success : ExitCode.usage
    throw error
  }
  return code
}
