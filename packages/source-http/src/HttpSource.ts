/**
 * A `Source` over the fonte sensors HTTP API (SPEC §3): one GET per partition, retried with backoff
 * while the server is down or busy, its JSON decoded straight into frames by `SensorsJson`.
 */
import { type Asset, type Partition, type Signal, Source, Timestamp } from "@delfos/etl"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as SensorsJson from "./SensorsJson.ts"

/** The reference service's API root. */
export const defaultBaseUrl = "http://localhost:8000/api/v1"

export interface HttpSourceOptions {
  /** The API root, without `/sensors`; `http://localhost:8000/api/v1` (the reference's) by default. */
  readonly baseUrl?: string | undefined
  /** Time allowed for one attempt, from sending the request to the body's last byte; 30 seconds by default. */
  readonly timeout?: Duration.Input | undefined
  /** Attempts after the first when the server is unreachable, slow, or answers 5xx, 408, 425 or 429; 3 by default. */
  readonly retries?: number | undefined
  /** The delay before the first retry, doubled for each next one, ±20% jitter; 500 ms by default. */
  readonly backoff?: Duration.Input | undefined
  /** Turbines asked for in one request (repeated `turbine_id`); 10 by default. */
  readonly turbinesPerRequest?: number | undefined
  /** Requests of one extract in flight at once; 2 by default. */
  readonly requestConcurrency?: number | undefined
}

/** The API root given cannot be read from: which (without a password), and why. */
export class InvalidSourceUrl extends Schema.TaggedError<InvalidSourceUrl>()("InvalidSourceUrl", {
  url: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid source URL ${this.url}: ${this.reason}`
  }
}

/** A URL as messages may show it: its password replaced by `***`; nothing of it when it does not parse. */
export const redact = (text: string): string => {
  try {
    const parsed = new URL(text)
    if (parsed.password !== "") parsed.password = "***"
    return parsed.href
  } catch {
    return "(a URL that does not parse, not shown)"
  }
}

/**
 * Checks an API root: `http://` or `https://`, a host, no credentials (fetch refuses to send a
 * request to such a URL). Returns it without trailing slashes.
 */
export const checkBaseUrl = (text: string): Result.Result<string, InvalidSourceUrl> => {
  const invalid = (reason: string) => Result.fail(new InvalidSourceUrl({ url: redact(text), reason }))
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    return invalid(`expected a URL such as ${defaultBaseUrl}`)
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return invalid(`expected http:// or https:// and a host, such as ${defaultBaseUrl}`)
  }
  if (parsed.hostname === "") return invalid("no host")
  if (parsed.username !== "" || parsed.password !== "") {
    return invalid("credentials in the URL are not supported (fetch refuses to send them)")
  }
  return Result.succeed(text.replace(/\/+$/, ""))
}

/** A `Retry-After` longer than this is cut to it: a server asking for hours is better reported than waited on. */
export const maxRetryAfter = Duration.minutes(1)

/**
 * The Source, built on the `HttpClient` in context (the fetch client in `layer`; provide another,
 * e.g. one with a proxy or a test transport, to `make`).
 */
export const make = (
  options: HttpSourceOptions = {}
): Effect.Effect<Source.Source["Service"], InvalidSourceUrl, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    // Each attempt runs in its own scope, which aborts the request when the attempt ends or times out.
    const client = HttpClient.withScope(yield* HttpClient.HttpClient)
    const endpoint = `${yield* Effect.fromResult(checkBaseUrl(options.baseUrl ?? defaultBaseUrl))}/sensors`
    const timeout = Duration.fromInputUnsafe(options.timeout ?? "30 seconds")
    const retries = options.retries ?? 3
    if (!(Number.isInteger(retries) && retries >= 0)) {
      return yield* Effect.die(new RangeError(`retries must be a whole number ≥ 0, got ${retries}`))
    }
    const schedule = backoffSchedule(options.backoff ?? "500 millis")
    const turbinesPerRequest = Math.max(1, options.turbinesPerRequest ?? 10)
    const requestConcurrency = Math.max(1, options.requestConcurrency ?? 2)

    const attempt = (url: string): Effect.Effect<Uint8Array, Retryable | Source.SourceRejected> =>
      client.get(url, { acceptJson: true }).pipe(
        Effect.flatMap((response) => bodyOf(url, response)),
        Effect.scoped,
        Effect.catchTag("HttpClientError", (error) => Effect.fail(failedExchange(url, error))),
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () => Effect.fail(new Retryable({ reason: `timed out after ${formatDuration(timeout)}` }))
        })
      )

    const fetchBody = (url: string): Effect.Effect<Uint8Array, Source.SourceUnavailable | Source.SourceRejected> =>
      attempt(url).pipe(
        Effect.retry({ schedule, times: retries, while: (error) => error._tag === "Retryable" }),
        Effect.catchTag("Retryable", (error) =>
          Effect.fail(
            new Source.SourceUnavailable({
              source: url,
              reason: retries === 0 ? error.reason : `${error.reason} (gave up after ${retries + 1} attempts)`,
              ...(error.status === undefined ? {} : { status: error.status })
            })
          )
        )
      )

    return Source.Source.of({
      name: endpoint,
      extract: ({ assets, range, variables }) => {
        // One request per group of turbines (or one for the default series), a few at once; each
        // answer is read whole, then decoded: a retried attempt must not repeat frames already sent.
        const groups = assets === undefined ? [undefined] : chunk(assets, turbinesPerRequest)
        const read = (group: ReadonlyArray<Asset.AssetId> | undefined) => {
          const url = requestUrl(endpoint, range, variables, group)
          return fetchBody(url).pipe(
            Effect.flatMap((body) =>
              Effect.fromResult(SensorsJson.decode(body, { source: url, variables, range, assets: group }))
            ),
            Effect.withSpan("HttpSource.extract", { attributes: { "url.full": url } })
          )
        }
        return Stream.fromIterable(groups).pipe(
          Stream.mapEffect(read, { concurrency: requestConcurrency }),
          Stream.flatMap(Stream.fromIterable)
        )
      },
      // The farm's turbines: `GET {root}/turbines`, `[{ "turbine_id": "WTG01", … }, …]`.
      assets: Effect.suspend(() => {
        const url = `${endpoint.slice(0, -"/sensors".length)}/turbines`
        return fetchBody(url).pipe(Effect.flatMap((body) => Effect.fromResult(decodeTurbines(url, body))))
      })
    })
  })

/** The ids of a `GET /turbines` answer, in its order. */
export const decodeTurbines = (
  url: string,
  body: Uint8Array
): Result.Result<Array<Asset.AssetId>, Source.SourceInvalidData> => {
  const invalid = (reason: string, row?: number) =>
    Result.fail(new Source.SourceInvalidData({ source: url, reason, ...(row === undefined ? {} : { row }) }))
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(body))
  } catch {
    return invalid("the turbine list is not JSON")
  }
  if (!Array.isArray(parsed)) return invalid("the turbine list is not a JSON array")
  const ids: Array<Asset.AssetId> = []
  for (const [row, item] of parsed.entries()) {
    const id = (item as { readonly turbine_id?: unknown } | null)?.turbine_id
    if (typeof id !== "string" || id === "") return invalid(`turbine_id is not a non-empty string`, row)
    ids.push(id as Asset.AssetId)
  }
  return Result.succeed(ids)
}

const chunk = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * A layer providing the Source over Node's `http` module (not `fetch`: a cold `fetch` loads undici,
 * ~60–150 ms at a command's start; `node:http` ~8 ms); fails at once on a URL it cannot read from.
 */
export const layer = (options: HttpSourceOptions = {}): Layer.Layer<Source.Source, InvalidSourceUrl> =>
  Layer.effect(Source.Source, make(options)).pipe(Layer.provide(NodeHttpClient.layerNodeHttp))

/**
 * The request for a partition: `start_date` and `end_date` are its range's ends as the API's
 * naive UTC timestamps. The API includes both ends, so the sample at `end` comes back too and the
 * decoder drops it, along with anything else outside the range: the partition is exact whatever
 * the server's rounding, and sub-second samples just before `end` are kept.
 */
export const requestUrl = (
  endpoint: string,
  range: Partition.TimeRange,
  variables: ReadonlyArray<Signal.Variable>,
  assets?: ReadonlyArray<Asset.AssetId> | undefined
): string => {
  const query = new URLSearchParams([
    ["start_date", Timestamp.formatNaive(range.start)],
    ["end_date", Timestamp.formatNaive(range.end)],
    ...variables.map((variable) => ["metrics", variable] as [string, string]),
    ...(assets ?? []).map((asset) => [SensorsJson.assetKey, asset] as [string, string])
  ])
  return `${endpoint}?${query}`
}

/**
 * Statuses worth another attempt: the server's trouble (5xx), too many requests (429), a request
 * timeout (408), too early (425). Any other 4xx says the request itself is wrong: never retried.
 */
export const isTransient = (status: number): boolean =>
  status >= 500 || status === 429 || status === 408 || status === 425

/** An attempt that failed in a way the next one may not: no answer, no answer in time, a transient status. */
class Retryable extends Data.TaggedError("Retryable")<{
  readonly reason: string
  readonly status?: number | undefined
  readonly retryAfter?: Duration.Duration | undefined
}> {}

/** Exponential backoff with jitter, stretched to what a `Retry-After` asks for. */
const backoffSchedule = (backoff: Duration.Input) =>
  Schedule.exponential(backoff).pipe(
    Schedule.jittered,
    Schedule.setInputType<Retryable | Source.SourceRejected>(),
    Schedule.modifyDelay(({ duration, input }) =>
      Effect.succeed(
        input._tag === "Retryable" && input.retryAfter !== undefined
          ? Duration.max(duration, input.retryAfter)
          : duration
      )
    )
  )

/** The bytes of a 2xx answer (the decoder reads them as they are); another status fails, with the server's words. */
const bodyOf = (
  url: string,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<Uint8Array, Retryable | Source.SourceRejected | HttpClientError.HttpClientError> => {
  const status = response.status
  if (status >= 200 && status < 300) return Effect.map(response.arrayBuffer, (buffer) => new Uint8Array(buffer))
  return response.text.pipe(
    Effect.orElseSucceed(() => ""),
    Effect.flatMap((text): Effect.Effect<never, Retryable | Source.SourceRejected> => {
      const detail = detailOf(text)
      if (isTransient(status)) {
        const retryAfter = retryAfterOf(response.headers["retry-after"])
        return Effect.fail(
          new Retryable({ reason: `HTTP ${status}${detail === "" ? "" : `: ${detail}`}`, status, retryAfter })
        )
      }
      return Effect.fail(
        new Source.SourceRejected({ source: url, status, detail: detail === "" ? "no detail in the answer" : detail })
      )
    })
  )
}

/**
 * The server's explanation: FastAPI's `{"detail": "…"}`, or its validation errors
 * `{"detail": [{"loc": ["query", "metrics", 0], "msg": "…", "input": "…"}]}` as
 * `query.metrics.0: … (got "…")`, or the body's text.
 */
const detailOf = (text: string): string => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return excerpt(text.trim())
  }
  const detail = typeof json === "object" && json !== null && "detail" in json ? json.detail : json
  if (typeof detail === "string") return detail
  if (Array.isArray(detail)) return detail.map(validationError).join("; ")
  return excerpt(JSON.stringify(detail))
}

const validationError = (error: unknown): string => {
  if (typeof error !== "object" || error === null) return String(error)
  const { input, loc, msg } = error as { loc?: unknown; msg?: unknown; input?: unknown }
  const where = Array.isArray(loc) ? loc.join(".") : undefined
  const what = typeof msg === "string" ? msg : JSON.stringify(error)
  const got = input === undefined || typeof input === "object" ? "" : ` (got ${JSON.stringify(input)})`
  return `${where === undefined ? "" : `${where}: `}${what}${got}`
}

const excerpt = (text: string): string => (text.length > 500 ? `${text.slice(0, 500)}…` : text)

/** `Retry-After` as seconds or an HTTP date, capped at `maxRetryAfter`. */
const retryAfterOf = (header: string | undefined): Duration.Duration | undefined => {
  if (header === undefined) return undefined
  const seconds = /^\s*\d+(\.\d+)?\s*$/.test(header) ? Number(header) : (Date.parse(header) - Date.now()) / 1000
  if (Number.isNaN(seconds)) return undefined
  return Duration.min(Duration.millis(Math.max(0, seconds * 1000)), maxRetryAfter)
}

/** What went wrong on the wire, in the words of `Source`'s errors. */
const failedExchange = (url: string, error: HttpClientError.HttpClientError): Retryable | Source.SourceRejected => {
  const reason = error.reason
  switch (reason._tag) {
    case "TransportError":
      return new Retryable({ reason: networkFailure(reason.cause) })
    case "DecodeError":
      return new Retryable({ reason: `the answer broke off: ${networkFailure(reason.cause)}` })
    default:
      // A URL fetch cannot use, say: the same request would fail again.
      return new Source.SourceRejected({ source: url, detail: reason.message })
  }
}

const networkCodes: { readonly [code: string]: string } = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by the server",
  EPIPE: "connection closed by the server",
  UND_ERR_SOCKET: "connection closed by the server",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable"
}

/** Finds a known network error code in a cause chain (fetch wraps it: `fetch failed` ← `ECONNREFUSED`). */
const networkFailure = (cause: unknown): string => {
  let message = "no answer"
  for (let error = cause, depth = 0; typeof error === "object" && error !== null && depth < 8; depth++) {
    const { code, errors } = error as { code?: unknown; errors?: unknown }
    if (typeof code === "string" && code in networkCodes) return networkCodes[code]!
    // Connecting to every address of a host fails as an AggregateError of each attempt's error.
    if (Array.isArray(errors)) {
      for (const inner of errors) {
        const innerCode = (inner as { code?: unknown } | null)?.code
        if (typeof innerCode === "string" && innerCode in networkCodes) return networkCodes[innerCode]!
      }
    }
    if (error instanceof Error) message = error.message
    error = (error as { cause?: unknown }).cause
  }
  return message
}

/** `30s`, `1.5s`, `200ms`. */
const formatDuration = (duration: Duration.Duration): string => {
  const millis = Duration.toMillis(duration)
  return millis >= 1000 ? `${millis / 1000}s` : `${millis}ms`
}
