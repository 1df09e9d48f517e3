import { MemorySink, Partition, Pipeline, SampleFrame, Signal } from "@delfos/etl"
import { Generator } from "@delfos/fonte"
import { TestDatabase, TestFonte } from "@delfos/test-utils"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import * as HttpSource from "../src/HttpSource.ts"
import { proxy, serve } from "./SensorsServer.ts"

// The happy path against the real reference server (no fault injection): seeded days in, exact rows out.
let fonte: TestFonte.Handle
const seed = 11

beforeAll(async () => {
  fonte = await TestFonte.start({ startDate: "2024-01-01", days: 3, seed })
}, 60_000)

afterAll(() => fonte?.close())

/** What the server was seeded with for a day, straight from the generator. */
const seededDay = (day: string) => Generator.generate({ start: Date.parse(`${day}T00:00:00Z`), days: 1, seed })

const sameValues = (a: Float64Array, b: Float64Array) =>
  a.length === b.length && a.every((x, i) => Object.is(x, b[i]) || (Number.isNaN(x) && Number.isNaN(b[i]!)))

describe("HttpSource against the fonte server", () => {
  it("extracts a day exactly: 1,440 samples as seeded, the next midnight's sample dropped", async () => {
    const partition = Partition.makeUnsafe("2024-01-02")
    const frames = await Effect.runPromise(
      Effect.gen(function* () {
        const source = yield* HttpSource.make({ baseUrl: fonte.apiUrl })
        return yield* Stream.runCollect(
          source.extract({ partition, range: Partition.range(partition), variables: Signal.knownVariables })
        )
      }).pipe(Effect.provide(FetchHttpClient.layer))
    )
    const frame = SampleFrame.concat(frames, Signal.knownVariables)
    const expected = seededDay("2024-01-02")
    expect(frame.length).toBe(1440)
    expect(sameValues(frame.timestamps, expected.timestamps)).toBe(true)
    for (const variable of Signal.knownVariables) {
      expect(sameValues(frame.columns[variable]!, expected.columns[variable]!), variable).toBe(true)
    }
  })

  it("a pipeline over HTTP writes the rows Postgres' own aggregates give for the fonte's stored samples", async () => {
    const partition = Partition.makeUnsafe("2024-01-03")
    const rows = await Effect.runPromise(
      Effect.gen(function* () {
        const report = yield* Pipeline.run(partition)
        expect(report.samplesRead).toBe(1440)
        expect(report.samplesIgnored).toBe(0)
        return yield* (yield* MemorySink.MemorySink).rows
      }).pipe(Effect.provide(Layer.merge(HttpSource.layer({ baseUrl: fonte.apiUrl }), MemorySink.layer())))
    )
    const expected = await aggregatesInDatabase("2024-01-03T00:00:00Z", "2024-01-04T00:00:00Z")
    expect(rows.map((row) => `${row.timestamp} ${row.signal}`)).toEqual(
      expected.map((row) => `${row.timestamp} ${row.signal}`)
    )
    rows.forEach((row, i) => {
      const reference = expected[i]!.value
      if (row.signal.endsWith("_mean") || row.signal.endsWith("_std")) {
        expect(
          relativeError(row.value, reference),
          `${row.timestamp} ${row.signal}: ${row.value} vs ${reference}`
        ).toBeLessThanOrEqual(1e-9)
      } else {
        expect(row.value, `${row.timestamp} ${row.signal}`).toBe(reference)
      }
    })
    // 144 windows x 2 variables x 4 statistics, less the few std rows of windows with a single power value.
    expect(rows.length).toBeGreaterThan(144 * 8 - 20)
  })

  it.live("asks only for the chosen variables: the request names them, and only they are decoded", () =>
    Effect.gen(function* () {
      const partition = Partition.makeUnsafe("2024-01-01")
      // A recording proxy in front of the fonte: what the source sent, as the server received it.
      const { baseUrl, requests } = yield* serve(proxy(fonte.url))
      const source = yield* HttpSource.make({ baseUrl })
      const power = Signal.knownVariables.filter((variable) => variable === "power")
      const frames = yield* Stream.runCollect(
        source.extract({ partition, range: Partition.range(partition), variables: power })
      )
      expect(requests.map((url) => url.pathname)).toEqual(["/api/v1/sensors"])
      expect(requests[0]!.searchParams.getAll("metrics")).toEqual(["power"])
      expect(requests[0]!.searchParams.get("start_date")).toBe("2024-01-01T00:00:00")
      expect(requests[0]!.searchParams.get("end_date")).toBe("2024-01-02T00:00:00")
      const frame = SampleFrame.concat(frames, power)
      expect(Object.keys(frame.columns)).toEqual(["power"])
      expect(sameValues(frame.columns.power!, seededDay("2024-01-01").columns.power!)).toBe(true)
    }).pipe(Effect.provide(FetchHttpClient.layer))
  )
})

/**
 * The reference for a pipeline's rows, by Postgres over the fonte's own table: per 10-minute bucket
 * of `[from, to)` and variable, `avg`, `min`, `max` and `stddev_samp` of the stored values (nulls
 * skipped), as tidy rows sorted by timestamp then signal; no row for an empty bucket, no `std` row
 * for a single value.
 */
const aggregatesInDatabase = async (from: string, to: string) => {
  const variables = Signal.defaultVariables
  const buckets = await TestDatabase.query<Record<string, number | null>>(
    fonte.database.url,
    `SELECT (floor(extract(epoch FROM timestamp) / 600) * 600000)::float8 AS bucket,
       ${variables
         .map(
           (v) =>
             `count(${v})::int AS ${v}_count, avg(${v}) AS ${v}_mean, min(${v}) AS ${v}_min, max(${v}) AS ${v}_max, stddev_samp(${v}) AS ${v}_std`
         )
         .join(", ")}
     FROM data WHERE timestamp >= '${from}' AND timestamp < '${to}'
     GROUP BY 1`
  )
  const rows: Array<{ timestamp: string; signal: string; value: number }> = []
  for (const bucket of buckets) {
    const timestamp = new Date(bucket.bucket!).toISOString()
    for (const variable of variables) {
      if (bucket[`${variable}_count`] === 0) continue
      for (const statistic of ["mean", "min", "max", "std"]) {
        const value = bucket[`${variable}_${statistic}`]
        if (value !== null && value !== undefined) rows.push({ timestamp, signal: `${variable}_${statistic}`, value })
      }
    }
  }
  return rows.sort((a, b) =>
    a.timestamp === b.timestamp ? (a.signal < b.signal ? -1 : 1) : a.timestamp < b.timestamp ? -1 : 1
  )
}

const relativeError = (actual: number, expected: number) =>
  expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected)
