/**
 * Connections to a Postgres server as every package of the project opens them: a URL read the way
 * libpq reads it (what it leaves out comes from `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
 * `PGDATABASE` and the OS user), every session in UTC whatever the server's or the database's
 * `TimeZone`, and the URL as messages may show it, never with its password.
 */
import { userInfo } from "node:os"
import { PgClient } from "@effect/sql-pg"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as SqlClient from "effect/sql/SqlClient"
import * as SqlError from "effect/sql/SqlError"

/** A database URL that cannot be used: which (without its password), and why. */
export class InvalidDatabaseUrl extends Schema.TaggedError<InvalidDatabaseUrl>()("InvalidDatabaseUrl", {
  /** The URL as it may be shown: without a password, or a placeholder when it does not parse. */
  url: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid database URL ${this.url}: ${this.reason}`
  }
}

/** No database URL was given and `DATABASE_URL` is not set. */
export class MissingDatabaseUrl extends Schema.TaggedError<MissingDatabaseUrl>()("MissingDatabaseUrl", {}) {
  override get message(): string {
    return "no database URL: give one (--database-url) or set DATABASE_URL"
  }
}

/** Where a connection goes, every part resolved. */
export interface Target {
  readonly host: string
  readonly port: number
  readonly database: string
  readonly user: string
  readonly password: Redacted.Redacted<string> | undefined
  /** `postgres://user@host:port/database`: no password, safe for messages and logs. */
  readonly display: string
  /** The URL as given, for drivers that take one (its parts above win where they differ). */
  readonly url: Redacted.Redacted<string>
}

const placeholder = "(unparsable URL, not shown)"

/** Shows a URL without its password: `postgres://user@host:port/database`, or a placeholder if it does not parse. */
export const describe = (url: string | Redacted.Redacted<string>): string => {
  const text = Redacted.isRedacted(url) ? Redacted.value(url) : url
  try {
    const parsed = new URL(text)
    const user = parsed.username === "" ? "" : `${safeDecode(parsed.username)}@`
    return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`
  } catch {
    return placeholder
  }
}

const safeDecode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** The OS user, as libpq takes it (from the password database, not `$USER`). */
const osUser = (env: NodeJS.ProcessEnv): string | undefined => {
  try {
    return userInfo().username
  } catch {
    // No password-database entry (a container's arbitrary uid): what the environment says, if anything.
    return env.USER ?? env.LOGNAME ?? undefined
  }
}

const nonEmpty = (text: string | undefined): string | undefined =>
  text === undefined || text === "" ? undefined : text

/**
 * Reads a Postgres URL as libpq does: `postgres://` or `postgresql://`, every part optional; a part
 * the URL lacks comes from `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, then the
 * defaults (`localhost`, 5432, the OS user, the user's name). Fails with `InvalidDatabaseUrl`, whose
 * message never holds the password.
 */
export const parse = (
  url: string | Redacted.Redacted<string>,
  env: NodeJS.ProcessEnv = process.env
): Result.Result<Target, InvalidDatabaseUrl> => {
  const text = Redacted.isRedacted(url) ? Redacted.value(url) : url
  const invalid = (reason: string, shown = describe(text)) =>
    Result.fail(new InvalidDatabaseUrl({ url: shown, reason }))
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    return invalid("not a URL: expected postgres://user@host:port/database", placeholder)
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    return invalid(`the scheme is ${parsed.protocol.replace(/:$/, "")}: expected postgres://user@host:port/database`)
  }
  const part = (value: string, what: string): Result.Result<string | undefined, InvalidDatabaseUrl> => {
    try {
      return Result.succeed(nonEmpty(decodeURIComponent(value)))
    } catch {
      return invalid(`the ${what} has a malformed %-escape`)
    }
  }
  const parts = {
    user: part(parsed.username, "user"),
    password: part(parsed.password, "password"),
    database: part(parsed.pathname.replace(/^\//, ""), "database name")
  }
  for (const value of Object.values(parts)) if (Result.isFailure(value)) return Result.fail(value.failure)
  const fromUrl = (key: keyof typeof parts) => Result.getOrUndefined(parts[key])
  // A postgres: URL's host is opaque to the URL parser: check that it is a host name or address.
  if (parsed.hostname !== "" && !/^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])$/.test(parsed.hostname)) {
    return invalid(`the host "${parsed.hostname}" is not a host name or address`)
  }
  const params = parsed.searchParams
  const host =
    nonEmpty(params.get("host") ?? undefined) ?? nonEmpty(parsed.hostname) ?? nonEmpty(env.PGHOST) ?? "localhost"
  const portText = nonEmpty(params.get("port") ?? undefined) ?? nonEmpty(parsed.port) ?? nonEmpty(env.PGPORT) ?? "5432"
  const port = Number(portText)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return invalid(`port "${portText}" is not 1 to 65535`)
  const user = nonEmpty(params.get("user") ?? undefined) ?? fromUrl("user") ?? nonEmpty(env.PGUSER) ?? osUser(env)
  if (user === undefined) return invalid("no user: give one in the URL or in PGUSER")
  const password = nonEmpty(params.get("password") ?? undefined) ?? fromUrl("password") ?? nonEmpty(env.PGPASSWORD)
  const database =
    nonEmpty(params.get("dbname") ?? undefined) ?? fromUrl("database") ?? nonEmpty(env.PGDATABASE) ?? user
  const shownHost = host.includes(":") && !host.startsWith("/") ? `[${host}]` : host
  return Result.succeed({
    host: host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host,
    port,
    database,
    user,
    password: password === undefined ? undefined : Redacted.make(password),
    display: `postgres://${user}@${host.startsWith("/") ? encodeURIComponent(host) : shownHost}:${port}/${database}`,
    url: Redacted.make(text)
  })
}

/**
 * Every distinct message down a failure's causes, joined by ": ". @effect/sql-pg says "Query
 * failed" or "Failed to connect" and keeps Postgres' own words ("violates check constraint",
 * "ECONNREFUSED") in its causes.
 */
export const reasonOf = (error: unknown): string => {
  const messages: Array<string> = []
  for (let cause = error, depth = 0; cause !== undefined && cause !== null && depth < 8; depth++) {
    const message =
      cause instanceof Error
        ? cause.message || ("code" in cause ? String(cause.code) : cause.name)
        : typeof cause === "object" && "message" in cause
          ? String(cause.message)
          : String(cause)
    if (message !== "" && !messages.includes(message)) messages.push(message)
    cause = typeof cause === "object" && "cause" in cause ? cause.cause : undefined
  }
  return messages.join(": ")
}

/** A failure to reach or log in to the database, as opposed to a statement that failed. */
export const isUnreachable = (error: unknown): boolean =>
  SqlError.isSqlError(error) && (error.reason._tag === "ConnectionError" || error.reason._tag === "AuthenticationError")

/**
 * What every session of the project sets: `TimeZone` UTC, so that instants are stored and read as
 * UTC in `timestamptz` and naive `timestamp` columns alike, whatever the server or database says.
 */
export const sessionParameters: Readonly<Record<string, string>> = { timezone: "UTC" }

export interface ConnectionOptions {
  /** Connections in the pool; 10 by default. */
  readonly maxConnections?: number | undefined
  /** How long to wait for a connection; 10 seconds by default. */
  readonly connectTimeout?: Duration.Input | undefined
  /** The `application_name` the server shows in `pg_stat_activity`; `delfos` by default. */
  readonly applicationName?: string | undefined
}

/** The `PgClient` settings for a target: its resolved parts, UTC sessions, the pool's bounds. */
export const clientConfig = (target: Target, options: ConnectionOptions = {}): PgClient.PgPoolConfig => ({
  url: target.url,
  host: target.host,
  port: target.port,
  username: target.user,
  password: target.password,
  database: target.database,
  applicationName: options.applicationName ?? "delfos",
  startupParameters: sessionParameters,
  maxConnections: options.maxConnections,
  connectTimeout: options.connectTimeout ?? "10 seconds"
})

/**
 * A pool on the database at `url` (read as `parse` reads it) as `PgClient` and `SqlClient`, sessions
 * in UTC. Connections open on first use, so an unreachable database shows up at the first statement.
 */
export const layer = (
  url: string | Redacted.Redacted<string>,
  options: ConnectionOptions = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError.SqlError | InvalidDatabaseUrl> =>
  PgClient.layerFrom(Effect.flatMap(target(url), (resolved) => make(resolved, options)))

/** A pool on a parsed target as a scoped client (what `layer` provides), for callers that map its errors. */
export const make = (target: Target, options: ConnectionOptions = {}) => PgClient.make(clientConfig(target, options))

/** `parse` as an Effect. */
export const target = (
  url: string | Redacted.Redacted<string>,
  env: NodeJS.ProcessEnv = process.env
): Effect.Effect<Target, InvalidDatabaseUrl> => Effect.fromResult(parse(url, env))

/** The URL given, else `DATABASE_URL` (an empty one counts as unset), parsed. */
export const targetFrom = (
  given: string | Redacted.Redacted<string> | undefined,
  env: NodeJS.ProcessEnv = process.env
): Effect.Effect<Target, InvalidDatabaseUrl | MissingDatabaseUrl> => {
  const url = given ?? nonEmpty(env.DATABASE_URL)
  return url === undefined ? Effect.fail(new MissingDatabaseUrl()) : target(url, env)
}

/**
 * The options of graphile-worker and other `pg`-based tools for a target: the same parts, and
 * `TimeZone=UTC` for every session.
 */
export const libpqOptions = (target: Target) => ({
  host: target.host,
  port: target.port,
  user: target.user,
  password: target.password === undefined ? undefined : Redacted.value(target.password),
  database: target.database,
  options: "-c TimeZone=UTC",
  application_name: "delfos"
})
