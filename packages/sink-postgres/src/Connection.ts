/**
 * How the sink reaches Postgres: a pool from a URL, the URL as messages may show it (never its
 * password), and which SQL failures mean "the database is out of reach" rather than "this load failed".
 */
import { Sink } from "@delfos/etl"
import { PgClient } from "@effect/sql-pg"
import * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as SqlClient from "effect/sql/SqlClient"
import * as SqlError from "effect/sql/SqlError"

export interface ConnectionOptions {
  /** `postgres://user:password@host:port/database`; the `DATABASE_URL` environment variable when absent. */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /** Connections in the pool; 10 by default. PGlite runs one statement at a time: give it 1. */
  readonly maxConnections?: number | undefined
  /** How long to wait for a connection before the sink counts as unavailable; 10 seconds by default. */
  readonly connectTimeout?: Duration.Input | undefined
}

/** `postgres://host:port/database`: a URL as messages may show it, without user or password. */
export const describe = (url: string | Redacted.Redacted<string>): string => {
  const text = Redacted.isRedacted(url) ? Redacted.value(url) : url
  try {
    const parsed = new URL(text)
    return `${parsed.protocol}//${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`
  } catch {
    // An unparsable URL may still hold a password: show nothing of it.
    return "postgres"
  }
}

/**
 * Every distinct message down a failure's causes: @effect/sql-pg says "Query failed" or "Failed to
 * connect" and keeps Postgres' own words ("violates check constraint", "ECONNREFUSED") in its causes.
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

/** The URL given, else `DATABASE_URL`; neither is `SinkUnavailable`. */
export const url = (
  given?: string | Redacted.Redacted<string> | undefined
): Effect.Effect<Redacted.Redacted<string>, Sink.SinkUnavailable> =>
  given === undefined
    ? Config.Redacted("DATABASE_URL").pipe(
        Effect.mapError(
          () =>
            new Sink.SinkUnavailable({
              sink: "postgres",
              reason: "no database URL: pass `url` or set DATABASE_URL"
            })
        )
      )
    : Effect.succeed(Redacted.isRedacted(given) ? given : Redacted.make(given))

/**
 * A pool on the database, as `PgClient` and `SqlClient`. Connections open on first use, so an
 * unreachable database shows up at the first statement (the sink's layers run one at once).
 */
export const layer = (
  options: ConnectionOptions = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, Sink.SinkUnavailable> =>
  PgClient.layerFrom(
    Effect.gen(function* () {
      const resolved = yield* url(options.url)
      return yield* PgClient.make({
        url: resolved,
        maxConnections: options.maxConnections,
        connectTimeout: options.connectTimeout ?? "10 seconds"
      }).pipe(
        Effect.mapError((error) => new Sink.SinkUnavailable({ sink: describe(resolved), reason: reasonOf(error) }))
      )
    })
  )
