import { MemorySink, Partition, Pipeline, Resample, SampleFrame, Signal, TidyRows, Unpivot } from "@delfos/etl"
import { Generator } from "@delfos/fonte"
import { TestFonte } from "@delfos/test-utils"
import { Effect, Layer, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as HttpSource from "../src/HttpSource.ts"

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

  it("a pipeline over HTTP writes the rows computed independently from the seeded samples", async () => {
    const partition = Partition.makeUnsafe("2024-01-03")
    const rows = await Effect.runPromise(
      Effect.gen(function* () {
        const report = yield* Pipeline.run(partition)
        expect(report.samplesRead).toBe(1440)
        expect(report.samplesIgnored).toBe(0)
        return yield* (yield* MemorySink.MemorySink).rows
      }).pipe(Effect.provide(Layer.merge(HttpSource.layer({ baseUrl: fonte.apiUrl }), MemorySink.layer())))
    )
    const expected = TidyRows.toArray(
      Unpivot.unpivot(
        Resample.resample(seededDay("2024-01-03"), {
          range: Partition.range(partition),
          variables: Signal.defaultVariables
        })
      )
    )
    expect(rows).toEqual(expected)
    expect(rows.length).toBeGreaterThan(144 * 8 - 20)
  })

  it("asks only for the chosen variables", async () => {
    const partition = Partition.makeUnsafe("2024-01-01")
    const frames = await Effect.runPromise(
      Effect.gen(function* () {
        const source = yield* HttpSource.make({ baseUrl: fonte.apiUrl })
        return yield* Stream.runCollect(
          source.extract({ partition, range: Partition.range(partition), variables: Signal.knownVariables.slice(1, 2) })
        )
      }).pipe(Effect.provide(FetchHttpClient.layer))
    )
    expect(Object.keys(frames[0]!.columns)).toEqual(["power"])
  })
})
