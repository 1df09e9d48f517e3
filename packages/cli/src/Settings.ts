/**
 * The options every command shares, read from flags and the environment into typed settings.
 * Reading fails with a `UsageError` (exit code 2) that names the bad value, before any I/O.
 */
import { hostname } from "node:os"
import { Asset, Backfill, Partition, Partitions, Runner, Signal, Window } from "@delfos/etl"
import { Connection } from "@delfos/postgres"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { defaults } from "./Options.ts"

/** A command line that cannot be run as given: exit code 2. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  message: Schema.String
}) {}

/** Raw option values as commander hands them over. */
export interface RawOptions {
  readonly sourceUrl?: string | undefined
  readonly databaseUrl?: string | undefined
  readonly dataDir?: string | undefined
  readonly variables?: string | undefined
  readonly statistics?: string | undefined
  readonly timezone?: string | undefined
  readonly every?: string | undefined
  readonly pipeline?: string | undefined
  readonly concurrency?: string | undefined
  readonly startDay?: string | undefined
  readonly allowEmpty?: boolean | undefined
  readonly heartbeatInterval?: string | undefined
  readonly staleAfter?: string | undefined
  readonly turbines?: string | undefined
  readonly batchSize?: string | undefined
  readonly minCoverage?: string | undefined
  readonly strict?: boolean | undefined
  readonly json?: boolean | undefined
  readonly verbose?: boolean | undefined
}

export interface Settings {
  readonly sourceUrl: string
  /** A Postgres URL, or none: the embedded database in `dataDir`. */
  readonly databaseUrl: string | undefined
  readonly dataDir: string
  readonly pipeline: string
  readonly variables: ReadonlyArray<Signal.Variable>
  readonly statistics: ReadonlyArray<Signal.Statistic>
  readonly timeZone: Partition.TimeZone
  readonly every: Window.WindowLength
  readonly concurrency: number
  /** The pipeline's first day, when given. */
  readonly startDay: Partition.Day | undefined
  /** Load a day the source has no samples for (clearing its rows) instead of keeping its rows. */
  readonly allowEmpty: boolean
  /** This process in the run ledger: `host:pid`, its heartbeat and when a silent run is abandoned. */
  readonly runner: Runner.Identity
  /** The turbines to run: a list, every one the source lists, or none (the default series). */
  readonly assets: ReadonlyArray<Asset.AssetId> | "all" | undefined
  /** Turbines of one day extracted and loaded together. */
  readonly batchSize: number
  /** The quality policy: flag (or with `strict` fail) a turbine-day below `minCoverage`. */
  readonly quality: { readonly minCoverage?: number | undefined; readonly strict: boolean }
  readonly json: boolean
  readonly verbose: boolean
}

const list = (text: string) =>
  text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")

const usage = (message: string) => Effect.fail(new UsageError({ message }))

/**
 * `--variables`: any lowercase identifiers (a source may carry variables beyond the fonte's three;
 * one it does not have is its error, 422 from the fonte), or `all` of the fonte's.
 */
export const variables = (text: string | undefined): Effect.Effect<ReadonlyArray<Signal.Variable>, UsageError> => {
  if (text === undefined) return Effect.succeed(Signal.defaultVariables)
  if (text.trim() === "all") return Effect.succeed(Signal.knownVariables)
  const names = list(text)
  const invalid = names.filter((name) => !/^[a-z][a-z0-9_]*$/.test(name))
  if (names.length === 0) return usage("--variables is empty: name at least one variable, or all")
  if (invalid.length > 0) {
    return usage(
      `invalid variable ${invalid.map((name) => `"${name}"`).join(", ")}: a variable is a lowercase identifier such as ${Signal.knownVariables.join(", ")}`
    )
  }
  return Effect.succeed([...new Set(names)] as Array<Signal.Variable>)
}

export const statistics = (text: string | undefined): Effect.Effect<ReadonlyArray<Signal.Statistic>, UsageError> => {
  if (text === undefined) return Effect.succeed(Signal.defaultStatistics)
  if (text.trim() === "all") return Effect.succeed(Signal.statistics)
  const names = list(text)
  const unknown = names.filter((name) => !(Signal.statistics as ReadonlyArray<string>).includes(name))
  if (names.length === 0) return usage("--statistics is empty: name at least one statistic, or all")
  if (unknown.length > 0) {
    return usage(
      `unknown statistic ${unknown.map((name) => `"${name}"`).join(", ")}: expected ${Signal.statistics.join(", ")} or all`
    )
  }
  return Effect.succeed([...new Set(names)] as Array<Signal.Statistic>)
}

/** A URL as messages may show it: its password replaced by `***`; nothing of it when it does not parse. */
export const redactUrl = (text: string): string => {
  try {
    const parsed = new URL(text)
    if (parsed.password !== "") parsed.password = "***"
    return parsed.href
  } catch {
    return "(not shown: it does not parse as a URL)"
  }
}

/** An `http://` or `https://` URL with a host, without credentials (fetch refuses them), no trailing slash. */
export const httpUrl = (flag: string, text: string): Effect.Effect<string, UsageError> => {
  const example = "http://localhost:8000/api/v1"
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    return usage(`invalid ${flag} ${redactUrl(text)}: expected a URL such as ${example}`)
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return usage(
      `invalid ${flag} "${redactUrl(text)}": expected http:// or https:// and a host, such as ${example}` +
        (/^[a-z0-9.-]+:\d+/i.test(text) ? ` (the scheme is missing: http://${redactUrl(text)}?)` : "")
    )
  }
  if (parsed.hostname === "") return usage(`invalid ${flag} "${redactUrl(text)}": no host, expected such as ${example}`)
  if (parsed.username !== "" || parsed.password !== "") {
    return usage(`invalid ${flag} "${redactUrl(text)}": credentials in the URL are not supported (fetch refuses them)`)
  }
  return Effect.succeed(parsed.href.replace(/\/+$/, ""))
}

/** A Postgres URL that libpq would read (with `env`'s PG* variables), or a usage error naming what is wrong. */
export const checkDatabaseUrl = (
  url: string,
  env: NodeJS.ProcessEnv = process.env
): Effect.Effect<void, UsageError> => {
  const parsed = Connection.parse(url, env)
  return Result.isFailure(parsed) ? usage(parsed.failure.message) : Effect.void
}

/** Reads the shared options; flags win over the environment. */
export const read = (raw: RawOptions, env: NodeJS.ProcessEnv = process.env): Effect.Effect<Settings, UsageError> =>
  Effect.gen(function* () {
    const sourceUrl = yield* httpUrl(
      "--source-url",
      raw.sourceUrl ?? nonEmpty(env.SOURCE_API_URL) ?? defaults.sourceUrl
    )
    const databaseUrl = raw.databaseUrl ?? nonEmpty(env.DATABASE_URL)
    if (databaseUrl !== undefined) yield* checkDatabaseUrl(databaseUrl, env)
    const heartbeatInterval = yield* seconds("--heartbeat-interval", raw.heartbeatInterval, defaults.heartbeatInterval)
    const staleAfter = yield* seconds("--stale-after", raw.staleAfter, defaults.staleAfter)
    // A process that judges its own runs (backfill, schedule) must beat more often than it judges.
    if (raw.heartbeatInterval !== undefined && raw.staleAfter !== undefined && staleAfter <= heartbeatInterval) {
      return yield* usage(
        `--stale-after (${staleAfter}s) must be longer than --heartbeat-interval (${heartbeatInterval}s): keep it several heartbeats long`
      )
    }
    const timeZone = yield* Partition.parse("2000-01-01", raw.timezone ?? defaults.timezone).pipe(
      Effect.map((partition) => partition.timeZone),
      Effect.mapError((error) => new UsageError({ message: error.message }))
    )
    const every = yield* Window.parseLength(raw.every ?? defaults.every).pipe(
      Effect.mapError((error) => new UsageError({ message: error.message }))
    )
    const pipeline = raw.pipeline ?? defaults.pipeline
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(pipeline)) {
      return yield* usage(`invalid --pipeline "${pipeline}": letters, digits, . _ - (at most 63)`)
    }
    return {
      sourceUrl,
      databaseUrl,
      dataDir: raw.dataDir ?? defaults.dataDir,
      pipeline,
      variables: yield* variables(raw.variables),
      statistics: yield* statistics(raw.statistics),
      timeZone,
      every,
      concurrency: yield* integer("--concurrency", raw.concurrency, defaults.concurrency, 1, 1000),
      startDay:
        raw.startDay === undefined
          ? undefined
          : yield* Partition.parse(raw.startDay).pipe(
              Effect.map((partition) => partition.day),
              Effect.mapError((error) => new UsageError({ message: `--start-day: ${error.message}` }))
            ),
      allowEmpty: raw.allowEmpty === true,
      assets: yield* turbines(raw.turbines),
      batchSize: yield* integer("--batch-size", raw.batchSize, defaults.batchSize, 1, 1000),
      quality: yield* qualityPolicy(raw),
      runner: Runner.make({
        id: `${hostname()}:${process.pid}`,
        heartbeatInterval: Math.round(heartbeatInterval * 1000),
        staleAfter: Math.round(staleAfter * 1000)
      }),
      json: raw.json === true,
      verbose: raw.verbose === true
    }
  })

/** The partitions of `--date D` or `--from A --to B`. */
export const partitions = (
  options: { readonly date?: string | undefined; readonly from?: string | undefined; readonly to?: string | undefined },
  timeZone: Partition.TimeZone
): Effect.Effect<Array<Partition.Partition>, UsageError> => {
  const fromDate = options.date ?? options.from
  const toDate = options.date ?? options.to ?? options.from
  if (options.date !== undefined && (options.from !== undefined || options.to !== undefined)) {
    return usage("give either --date or --from/--to, not both")
  }
  if (fromDate === undefined || toDate === undefined) {
    return usage("which days? give --date YYYY-MM-DD, or --from YYYY-MM-DD --to YYYY-MM-DD")
  }
  return Partition.parseRange(fromDate, toDate, timeZone).pipe(
    Effect.mapError((error) => new UsageError({ message: error.message }))
  )
}

/** `--from`/`--to` of `status`, each optional. */
export const dayBounds = (options: {
  readonly from?: string | undefined
  readonly to?: string | undefined
}): Effect.Effect<{ from?: Partition.Day; to?: Partition.Day }, UsageError> =>
  Effect.gen(function* () {
    const day = (text: string) =>
      Partition.parse(text).pipe(
        Effect.map((partition) => partition.day),
        Effect.mapError((error) => new UsageError({ message: error.message }))
      )
    return {
      ...(options.from === undefined ? {} : { from: yield* day(options.from) }),
      ...(options.to === undefined ? {} : { to: yield* day(options.to) })
    }
  })

/** `--only missing,failed` (the default), `--only missing,failed,empty`. */
export const only = (
  text: string | undefined
): Effect.Effect<ReadonlyArray<Partitions.PartitionStatus>, UsageError> => {
  if (text === undefined) return Effect.succeed(Backfill.defaultOnly)
  const names = list(text)
  const unknown = names.filter((name) => !(Partitions.statuses as ReadonlyArray<string>).includes(name))
  if (names.length === 0 || unknown.length > 0) {
    return usage(`invalid --only "${text}": expected some of ${Partitions.statuses.join(", ")}`)
  }
  return Effect.succeed(names as Array<Partitions.PartitionStatus>)
}

/** A whole number option with bounds. */
export const integer = (flag: string, text: string | undefined, fallback: number, min: number, max: number) => {
  if (text === undefined) return Effect.succeed(fallback)
  const value = Number(text)
  return Number.isInteger(value) && value >= min && value <= max
    ? Effect.succeed(value)
    : usage(`invalid ${flag} "${text}": expected a whole number from ${min} to ${max}`)
}

/** A duration in seconds (fractions allowed, e.g. 0.25), from 0.1 s to a day. */
export const seconds = (
  flag: string,
  text: string | undefined,
  fallback: number,
  min = 0.1,
  max = 86_400
): Effect.Effect<number, UsageError> => {
  if (text === undefined) return Effect.succeed(fallback)
  const value = Number(text)
  return text.trim() !== "" && Number.isFinite(value) && value >= min && value <= max
    ? Effect.succeed(value)
    : usage(`invalid ${flag} "${text}": expected seconds from ${min} to ${max}`)
}

const nonEmpty = (text: string | undefined) => (text === "" ? undefined : text)

/** A positive number option, or none. */
export const rate = (flag: string, text: string | undefined): Effect.Effect<number | undefined, UsageError> => {
  if (text === undefined) return Effect.succeed(undefined)
  const value = Number(text)
  return Number.isFinite(value) && value > 0
    ? Effect.succeed(value)
    : usage(`invalid ${flag} "${text}": expected a number above 0`)
}

/** `--turbines WTG01,WTG02` (each a valid id, no repeats), `--turbines all`, or none. */
export const turbines = (
  text: string | undefined
): Effect.Effect<ReadonlyArray<Asset.AssetId> | "all" | undefined, UsageError> => {
  if (text === undefined) return Effect.succeed(undefined)
  if (text.trim() === "all") return Effect.succeed("all")
  const names = list(text)
  if (names.length === 0) return usage("--turbines is empty: name turbines such as WTG01,WTG02, or all")
  return Effect.forEach(names, (name) =>
    Asset.parse(name).pipe(Effect.mapError((error) => new UsageError({ message: `--turbines: ${error.message}` })))
  ).pipe(Effect.map((ids) => [...new Set(ids)]))
}

/** `--min-coverage 0.8` and `--strict`. */
export const qualityPolicy = (raw: Pick<RawOptions, "minCoverage" | "strict">) => {
  const strict = raw.strict === true
  if (raw.minCoverage === undefined) {
    return strict
      ? usage("--strict needs --min-coverage: say below which coverage a turbine-day fails, e.g. --min-coverage 0.8")
      : Effect.succeed({ strict })
  }
  const value = Number(raw.minCoverage)
  return raw.minCoverage.trim() !== "" && Number.isFinite(value) && value >= 0 && value <= 1
    ? Effect.succeed({ minCoverage: value, strict })
    : usage(`invalid --min-coverage "${raw.minCoverage}": expected a ratio from 0 to 1, such as 0.8`)
}

/** `30 turbine-days (3 days × 10 turbines)`, or `3 days`. */
export const ratio = (days: number, turbines: number | undefined): string =>
  turbines === undefined
    ? `${days} day${days === 1 ? "" : "s"}`
    : `${days * turbines} turbine-day${days * turbines === 1 ? "" : "s"} (${days} day${days === 1 ? "" : "s"} × ${turbines} turbine${turbines === 1 ? "" : "s"})`
