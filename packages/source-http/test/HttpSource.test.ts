import { Partition, Signal } from "@delfos/etl"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Random, Stream } from "effect"
import { FetchHttpClient, HttpClient, HttpClientResponse } from "effect/http"
import { TestClock } from "effect/testing"
import * as HttpSource from "../src/HttpSource.ts"

/**
 * A client that answers in process, recording on the test clock when each attempt was sent:
 * `answer(attempt)` gives the response for attempt 1, 2, …, or `"hang"` for none at all.
 */
const recordingClient = (answer: (attempt: number) => Response | "hang") => {
  const sentAt: Array<number> = []
  const client = HttpClient.make((request) =>
    Effect.gen(function* () {
      sentAt.push(yield* Clock.currentTimeMillis)
      const response = answer(sentAt.length)
      return response === "hang" ? yield* Effect.never : HttpClientResponse.fromWeb(request, response)
    })
  )
  return { client, sentAt }
}

const unavailable = (headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ detail: "maintenance" }), { status: 503, headers })

/** The jitter's draw, fixed: 0 stretches a delay by 0.8, 0.5 by 1, towards 1 by 1.2. */
const fixedRandom = (draw: number) =>
  Effect.provideService(Random.Random, { nextDoubleUnsafe: () => draw, nextIntUnsafe: () => 0 })

/**
 * Extracts a day through a recording client on the test clock, moving the clock far enough for every
 * retry; `sentAt` is when each attempt was sent, in milliseconds from the start.
 */
const extractOnTestClock = (
  { client, sentAt }: ReturnType<typeof recordingClient>,
  options: HttpSource.HttpSourceOptions
) =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    const source = yield* HttpSource.make(options)
    const partition = Partition.makeUnsafe("2024-01-01")
    const fiber = yield* Stream.runCollect(
      source.extract({ partition, range: Partition.range(partition), variables: Signal.defaultVariables })
    ).pipe(Effect.result, Effect.forkChild)
    yield* TestClock.adjust("1 day")
    return { outcome: yield* Fiber.join(fiber), sentAt: sentAt.map((t) => t - start) }
  }).pipe(Effect.provideService(HttpClient.HttpClient, client))

describe("HttpSource", () => {
  it("asks for a partition from its first instant to the next midnight, with one metrics per variable", () => {
    const url = new URL(
      HttpSource.requestUrl(
        "http://fonte/api/v1/sensors",
        Partition.range(Partition.makeUnsafe("2024-02-29")),
        Signal.knownVariables
      )
    )
    expect(url.pathname).toBe("/api/v1/sensors")
    expect([...url.searchParams]).toEqual([
      ["start_date", "2024-02-29T00:00:00"],
      ["end_date", "2024-03-01T00:00:00"],
      ["metrics", "wind_speed"],
      ["metrics", "power"],
      ["metrics", "ambient_temperature"]
    ])
    // A local day: its UTC instants, here a 23-hour DST day in Berlin.
    const berlin = new URL(
      HttpSource.requestUrl(
        "http://fonte/sensors",
        Partition.range(Partition.makeUnsafe("2024-03-31", "Europe/Berlin")),
        []
      )
    )
    expect(berlin.searchParams.get("start_date")).toBe("2024-03-30T23:00:00")
    expect(berlin.searchParams.get("end_date")).toBe("2024-03-31T22:00:00")
    expect(berlin.searchParams.has("metrics")).toBe(false)
  })

  it.effect(
    "is named after its endpoint: the reference's by default, a given base URL without its trailing slash",
    () =>
      Effect.gen(function* () {
        expect((yield* HttpSource.make()).name).toBe("http://localhost:8000/api/v1/sensors")
        expect((yield* HttpSource.make({ baseUrl: "https://fonte.example.com/api/v1/" })).name).toBe(
          "https://fonte.example.com/api/v1/sensors"
        )
      }).pipe(Effect.provide(FetchHttpClient.layer))
  )

  it.effect("refuses a negative or fractional number of retries", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(HttpSource.make({ retries: -1 }))
      expect(exit._tag).toBe("Failure")
      expect(String(exit)).toContain("retries must be a whole number")
    }).pipe(Effect.provide(FetchHttpClient.layer))
  )

  it.effect("retries with backoff: 500 ms before the first retry, doubled for each next one", () =>
    Effect.gen(function* () {
      const { outcome, sentAt } = yield* extractOnTestClock(
        recordingClient(() => unavailable()),
        {}
      ).pipe(fixedRandom(0.5))
      expect(outcome).toMatchObject({
        _tag: "Failure",
        failure: { _tag: "SourceUnavailable", status: 503, reason: "HTTP 503: maintenance (gave up after 4 attempts)" }
      })
      // Waits of 500, 1000 and 2000 ms between the four attempts.
      expect(sentAt).toEqual([0, 500, 1_500, 3_500])
    })
  )

  it.effect("the backoff's jitter stretches each wait by 0.8 to 1.2, and the given backoff is the base", () =>
    Effect.gen(function* () {
      const shortest = yield* extractOnTestClock(
        recordingClient(() => unavailable()),
        { backoff: "1 second", retries: 2 }
      ).pipe(fixedRandom(0))
      expect(shortest.sentAt).toEqual([0, 800, 800 + 1_600])

      const longest = yield* extractOnTestClock(
        recordingClient(() => unavailable()),
        { backoff: "1 second", retries: 2 }
      ).pipe(fixedRandom(0.999_999))
      const waits = longest.sentAt.slice(1).map((t, i) => t - longest.sentAt[i]!)
      expect(waits.length).toBe(2)
      expect(waits[0]).toBeCloseTo(1_200, -1)
      expect(waits[1]).toBeCloseTo(2_400, -1)

      // With the real generator, every wait stays within ±20% of 250 ms, 500 ms, 1 s, 2 s.
      const random = yield* extractOnTestClock(
        recordingClient(() => unavailable()),
        { backoff: "250 millis", retries: 4 }
      )
      expect(random.sentAt.length).toBe(5)
      random.sentAt.slice(1).forEach((t, i) => {
        const wait = t - random.sentAt[i]!
        expect(wait, `wait ${i + 1}`).toBeGreaterThanOrEqual(0.8 * 250 * 2 ** i)
        expect(wait, `wait ${i + 1}`).toBeLessThanOrEqual(1.2 * 250 * 2 ** i)
      })
    })
  )

  it.effect("a Retry-After longer than the backoff is waited instead, cut to a minute", () =>
    Effect.gen(function* () {
      const { outcome, sentAt } = yield* extractOnTestClock(
        recordingClient((attempt) =>
          attempt === 1
            ? unavailable({ "retry-after": "5" })
            : attempt === 2
              ? new Response(JSON.stringify({ detail: "slow down" }), {
                  status: 429,
                  headers: { "retry-after": "3600" }
                })
              : new Response("[]", { status: 200, headers: { "content-type": "application/json" } })
        ),
        {}
      ).pipe(fixedRandom(0.5))
      expect(outcome._tag).toBe("Success")
      expect(sentAt).toEqual([0, 5_000, 5_000 + 60_000])

      // A Retry-After shorter than the backoff does not shorten it.
      const short = yield* extractOnTestClock(
        recordingClient((attempt) =>
          attempt === 1 ? unavailable({ "retry-after": "0" }) : new Response("[]", { status: 200 })
        ),
        {}
      ).pipe(fixedRandom(0.5))
      expect(short.sentAt).toEqual([0, 500])
    })
  )

  it.effect("each attempt has its own timeout, and the retry follows it after the backoff", () =>
    Effect.gen(function* () {
      const { outcome, sentAt } = yield* extractOnTestClock(
        recordingClient(() => "hang"),
        { timeout: "200 millis", retries: 2, backoff: "10 millis" }
      ).pipe(fixedRandom(0.5))
      expect(outcome).toMatchObject({
        _tag: "Failure",
        failure: { _tag: "SourceUnavailable", reason: "timed out after 200ms (gave up after 3 attempts)" }
      })
      // 200 ms of waiting for an answer, then 10 ms, then 20 ms of backoff.
      expect(sentAt).toEqual([0, 210, 430])
    })
  )
})
