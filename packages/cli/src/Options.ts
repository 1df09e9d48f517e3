/**
 * The options commands share, declared once for commander, and the defaults every command agrees
 * on. Loaded by the parser, so it imports commander only: `--help` and `--version` load nothing else.
 */
import { type Command, Option } from "commander"

/**
 * The defaults, one place for all commands. `maxAttempts` is 5 for `backfill`, `schedule` and the
 * worker alike: in process, attempts wait 1, 2, 4 and 8 s between them (a transient failure has
 * 15 s to pass); on the queue graphile-worker waits e^n s (about 1.5 min in all). A day still
 * failing after that has a cause a retry will not fix, and the next backfill or tick runs it again.
 */
export const defaults = {
  sourceUrl: "http://localhost:8000/api/v1",
  dataDir: ".delfos",
  variables: "wind_speed,power",
  statistics: "mean,min,max,std",
  timezone: "UTC",
  every: "10min",
  pipeline: "default",
  concurrency: 1,
  batchSize: 25,
  maxAttempts: 5,
  heartbeatInterval: 5,
  staleAfter: 30,
  cron: "15 0 * * *",
  lookback: 2,
  only: "missing,failed",
  pollInterval: 2,
  shutdownTimeout: 5,
  port: 8000,
  host: "127.0.0.1",
  seed: 42
} as const

/**
 * An option whose default is shown in help but applied by `Settings`, so that a command can tell
 * an option given from one left out. (commander prints a default only when it holds the value.)
 */
export const option = (flags: string, description: string, shown?: string | number): Option =>
  new Option(flags, shown === undefined ? description : `${description} (default: ${shown})`)

/** Where the target is: Postgres, or the embedded database. */
export const database = (command: Command): Command =>
  command
    .addOption(option("--database-url <url>", "the target Postgres (none: the embedded database)").env("DATABASE_URL"))
    .addOption(
      option("--data-dir <dir>", "where the embedded database lives when no database URL is given", defaults.dataDir)
    )

/** What a pipeline reads and writes: every command that runs days or reads their status. */
export const pipeline = (command: Command): Command => job(database(command))

/** What a day's run reads and computes: the options a queued job carries. */
export const job = (command: Command): Command =>
  command
    .addOption(option("--source-url <url>", "the fonte API root", defaults.sourceUrl).env("SOURCE_API_URL"))
    .addOption(
      option(
        "--variables <list>",
        "comma-separated variables the source has (wind_speed,power,ambient_temperature, or others), or all",
        defaults.variables
      )
    )
    .addOption(
      option(
        "--statistics <list>",
        "comma-separated statistics (mean,min,max,std,count,coverage), or all",
        defaults.statistics
      )
    )
    .addOption(option("--timezone <zone>", "the IANA time zone that defines a day", defaults.timezone))
    .addOption(option("--every <length>", "the window length, e.g. 10min, 1h", defaults.every))
    .addOption(option("--pipeline <name>", "the pipeline's name in the run ledger", defaults.pipeline))

export const output = (command: Command): Command =>
  command.option("--json", "print JSON for scripts").option("--verbose", "print stack traces on unexpected failures")

/** Days at once, for the commands that run several. */
export const concurrency = (command: Command): Command =>
  command.addOption(
    option(
      "--concurrency <n>",
      "days (or batches of turbines of a day) run at once, each taking a database connection",
      defaults.concurrency
    )
  )

/** Which turbines of a farm: a list, or all the source lists; none: the source's default series. */
export const turbines = (command: Command): Command =>
  command.addOption(
    option(
      "--turbines <ids>",
      "comma-separated turbines (WTG01,WTG02), or all that the source lists (none: its default series)"
    )
  )

/** Turbines of one day extracted and loaded together. */
export const batchSize = (command: Command): Command =>
  command.addOption(
    option(
      "--batch-size <n>",
      "turbines of one day extracted and loaded together (bounds memory, whatever the fleet's size)",
      defaults.batchSize
    )
  )

/** The data-quality policy. */
export const quality = (command: Command): Command =>
  command
    .addOption(
      option(
        "--min-coverage <ratio>",
        "a turbine-day whose coverage (valid ÷ expected samples) is below this (0–1) is degraded: loaded and flagged"
      )
    )
    .option("--strict", "with --min-coverage: a turbine-day below it fails instead (not loaded, its rows kept)")

/** What runs turbine-days: the fleet and the quality policy. */
export const fleet = (command: Command): Command => quality(batchSize(turbines(command)))

/** How often a running day's heartbeat is written to the ledger. */
export const heartbeat = (command: Command): Command =>
  command.addOption(
    option(
      "--heartbeat-interval <seconds>",
      "how often a running day's heartbeat is written",
      defaults.heartbeatInterval
    )
  )

/** When a running day's silence means its process died. */
export const staleAfter = (command: Command): Command =>
  command.addOption(
    option(
      "--stale-after <seconds>",
      "a running day without a heartbeat this long was abandoned (and counts as failed)",
      defaults.staleAfter
    )
  )

/** What to do with a day the source has no samples for. */
export const allowEmpty = (command: Command): Command =>
  command.option(
    "--allow-empty",
    "load a day the source has no samples for, removing its rows (by default it ends `empty` and keeps them)"
  )

/** `--max-attempts`, with how the command waits between attempts. */
export const maxAttempts =
  (what: string) =>
  (command: Command): Command =>
    command.addOption(
      option("--max-attempts <k>", `attempts per day ${what}, the first included`, defaults.maxAttempts)
    )

/** A command with option groups added in order. */
export const add = (command: Command, ...groups: ReadonlyArray<(command: Command) => Command>): Command =>
  groups.reduce((built, group) => group(built), command)

export const rate = (command: Command): Command =>
  command.option("--max-requests-per-second <r>", "start at most r source requests a second")

/** `Examples:` after a command's help. */
export const examples = (lines: ReadonlyArray<string>): string =>
  `\nExamples:\n${lines.map((line) => (line.startsWith("#") ? `  ${line}` : `  $ ${line}`)).join("\n")}\n`
