/**
 * Seeding a running fonte server through its API (`POST /api/v1/sensors/populate_database`): the
 * one call the CLI, the demo, the tests' `TestFonte`, the benches and the examples make.
 */
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Schema from "effect/Schema"
import { PopulateResult } from "./Api.ts"

export interface PopulateOptions {
  /** The first day, `YYYY-MM-DD` (or an instant on a whole minute). */
  readonly startDate: string
  /** Days of 1-minute samples, 1 to 366. */
  readonly days: number
  /** The generator's seed; the server's default (42) when absent. */
  readonly seed?: number | undefined
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

/**
 * Seeds `days` days from `startDate` on the server at `baseUrl` (its root or its `/api/v1`) and
 * returns its answer, `{ message, details: { total_records, start, end } }`. Seeding is
 * idempotent: a day seeded twice is not doubled.
 */
export const populate = Effect.fn("FonteClient.populate")(function* (baseUrl: string, options: PopulateOptions) {
  const root = rootUrl(baseUrl)
  const url = `${root}/api/v1/sensors/populate_database`
  const client = yield* HttpClient.HttpClient
  const request = HttpClientRequest.post(url).pipe(
    HttpClientRequest.bodyJsonUnsafe({
      start_date: options.startDate,
      days: options.days,
      ...(options.seed === undefined ? {} : { seed: options.seed })
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

/** `populate` as a Promise, over `fetch`; rejects with `PopulateFailed`. */
export const populatePromise = (baseUrl: string, options: PopulateOptions): Promise<typeof PopulateResult.Type> =>
  Effect.runPromise(populate(baseUrl, options).pipe(Effect.provide(FetchHttpClient.layer)))
