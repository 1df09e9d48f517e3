/**
 * Seeding a running fonte server through its API (`POST /api/v1/sensors/populate_database`): the
 * one call the CLI, the demo, the tests' `TestFonte`, the benches and the examples make; and the
 * farm's turbines (`GET /api/v1/turbines`).
 */

import { Timestamp } from "@delfos/etl"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Schema from "effect/Schema"
import { maxDays, maxTurbineDays, PopulateResult, Turbine } from "./Api.ts"

export interface PopulateOptions {
  /** The first day, `YYYY-MM-DD` (or an instant on a whole minute). */
  readonly startDate: string
  /** Days of 1-minute samples, 1 to 366. */
  readonly days: number
  /** The generator's seed; the server's default (42) when absent. */
  readonly seed?: number | undefined
  /** A farm of WTG01 to WTGnn, 1 to 1,000; one turbine (the server's default) when absent. */
  readonly turbines?: number | undefined
}

/** The server could not be reached, refused the request (its status and words), or answered something else. */
export class PopulateFailed extends Schema.TaggedError<PopulateFailed>()("PopulateFailed", {
  url: Schema.String,
  status: Schema.optional(Schema.Int),
  message: Schema.String
}) {}

/** A server's root from its root or its API URL (`…/api/v1`, what a source reads), trailing slashes or not. */
export const rootUrl = (url: string): string => url.replace(/\/+$/, "").replace(/\/api\/v1$/, "")

// fetch says "fetch failed"; the reason (connect ECONNREFUSED …) is further down its causes.
const innermost = (error: unknown): string => {
  let message = String(error)
  for (let cause = error, depth = 0; cause instanceof Error && depth < 8; depth++) {
    message = cause.message
    cause = cause.cause
  }
  return message
}

const excerpt = (text: string): string => (text.length > 500 ? `${text.slice(0, 500)}…` : text)

const populateOnce = (baseUrl: string, options: PopulateOptions) =>
  Effect.gen(function* () {
    const root = rootUrl(baseUrl)
    const url = `${root}/api/v1/sensors/populate_database`
    const client = yield* HttpClient.HttpClient
    const request = HttpClientRequest.post(url).pipe(
      HttpClientRequest.bodyJsonUnsafe({
        start_date: options.startDate,
        days: options.days,
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        ...(options.turbines === undefined ? {} : { turbines: options.turbines })
      })
    )
    const unreachable = (error: { readonly cause?: unknown }) =>
      new PopulateFailed({ url, message: `fonte unreachable at ${root}: ${innermost(error.cause ?? error)}` })
    const response = yield* client.execute(request).pipe(Effect.mapError(unreachable))
    const text = yield* response.text.pipe(Effect.mapError(unreachable))
    if (response.status !== 201) {
      return yield* new PopulateFailed({
        url,
        status: response.status,
        message: `fonte at ${root} answered ${response.status}: ${excerpt(text.trim())}`
      })
    }
    return yield* Schema.decodeUnknownEffect(Schema.fromJsonString(PopulateResult))(text).pipe(
      Effect.mapError(
        () =>
          new PopulateFailed({
            url,
            status: response.status,
            message: `fonte at ${root} answered 201 with an unexpected body: ${excerpt(text.trim())}`
          })
      )
    )
  })

/**
 * Seeds `days` days from `startDate` on the server at `baseUrl` (its root or its `/api/v1`) and
 * returns its answer, `{ message, details: { total_records, start, end } }`. Seeding is
 * idempotent: a day seeded twice is not doubled. A farm larger than one request may seed
 * (`Api.maxTurbineDays` turbine-days) is seeded in several requests, by days, one after the other,
 * and answered as one.
 */
export const populate = Effect.fn("FonteClient.populate")(function* (baseUrl: string, options: PopulateOptions) {
  const turbines = options.turbines ?? 1
  const perRequest = Math.min(maxDays, Math.max(1, Math.floor(maxTurbineDays / turbines)))
  const start = Timestamp.parse(options.startDate)
  // What one request may take (or what the server should refuse itself) goes as it is.
  if (turbines * options.days <= maxTurbineDays || Number.isNaN(start) || !Number.isInteger(options.days)) {
    return yield* populateOnce(baseUrl, options)
  }
  let total = 0
  let first: typeof PopulateResult.Type | undefined
  let last: typeof PopulateResult.Type | undefined
  for (let done = 0; done < options.days; done += perRequest) {
    const answer = yield* populateOnce(baseUrl, {
      ...options,
      startDate: Timestamp.formatNaive(start + done * 86_400_000),
      days: Math.min(perRequest, options.days - done)
    })
    total += answer.details.total_records
    first ??= answer
    last = answer
  }
  return {
    message: `Database populated with ${total} records`,
    details: { total_records: total, start: first!.details.start, end: last!.details.end }
  }
})

/** The farm's turbines (`GET /api/v1/turbines`), the default (first) one first. */
export const turbines = Effect.fn("FonteClient.turbines")(function* (baseUrl: string) {
  const root = rootUrl(baseUrl)
  const url = `${root}/api/v1/turbines`
  const client = yield* HttpClient.HttpClient
  const failed = (message: string, status?: number) =>
    new PopulateFailed({ url, message, ...(status === undefined ? {} : { status }) })
  const response = yield* client
    .get(url)
    .pipe(Effect.mapError((error) => failed(`fonte unreachable at ${root}: ${innermost(error.cause ?? error)}`)))
  const text = yield* response.text.pipe(
    Effect.mapError((error) => failed(`fonte unreachable at ${root}: ${innermost(error)}`))
  )
  if (response.status !== 200) {
    return yield* failed(`fonte at ${root} answered ${response.status}: ${excerpt(text.trim())}`, response.status)
  }
  return yield* Schema.decodeUnknownEffect(Schema.fromJsonString(Schema.Array(Turbine)))(text).pipe(
    Effect.mapError(() =>
      failed(`fonte at ${root} answered an unexpected list of turbines: ${excerpt(text.trim())}`, 200)
    )
  )
})

/** `populate` as a Promise, over `fetch`; rejects with `PopulateFailed`. */
export const populatePromise = (baseUrl: string, options: PopulateOptions): Promise<typeof PopulateResult.Type> =>
  Effect.runPromise(populate(baseUrl, options).pipe(Effect.provide(FetchHttpClient.layer)))
