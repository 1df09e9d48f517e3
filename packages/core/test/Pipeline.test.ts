import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as MemorySink from "../src/MemorySink.ts"
import * as MemorySource from "../src/MemorySource.ts"
import * as Partition from "../src/Partition.ts"
import * as Pipeline from "../src/Pipeline.ts"
import * as Resample from "../src/Resample.ts"
import * as SampleFrame from "../src/SampleFrame.ts"
import { defaultVariables } from "../src/Signal.ts"
import { Sink, SinkLoadFailed } from "../src/Sink.ts"
import { Source, SourceUnavailable } from "../src/Source.ts"
import * as TidyRows from "../src/TidyRows.ts"
import * as Unpivot from "../src/Unpivot.ts"
import * as Window from "../src/Window.ts"

/** Two days of minute samples with a deterministic wave, a few missing power values. */
const twoDays = (() => {
  const start = Date.UTC(2024, 0, 1)
  const n = 2 * 1440
  const timestamps = Float64Array.from({ length: n }, (_, i) => start + i * 60_000)
  const wind = Float64Array.from({ length: n }, (_, i) => 8 + 3 * Math.sin(i / 37))
  const power = Float64Array.from({ length: n }, (_, i) => (i % 97 === 0 ? Number.NaN : 1500 + 900 * Math.cos(i / 53)))
  return SampleFrame.make(timestamps, { wind_speed: wind, power })
})()

const day1 = Partition.makeUnsafe("2024-01-01")

/** The expected rows of a day, computed straight from the kernel on that day's slice. */
const expectedRows = (frame: SampleFrame.SampleFrame, partition: Partition.Partition) =>
  TidyRows.toArray(
    Unpivot.unpivot(Resample.resample(frame, { range: Partition.range(partition), variables: defaultVariables }))
  )

const layers = (frame: SampleFrame.SampleFrame) =>
  Layer.merge(MemorySource.layer(frame, { chunkSize: 100 }), MemorySink.layer())

describe("Pipeline", () => {
  it.effect("a run writes the day's rows and reports what it did", () =>
    Effect.gen(function* () {
      const report = yield* Pipeline.run(day1)
      const rows = yield* (yield* MemorySink.MemorySink).rows
      expect(rows).toEqual(expectedRows(twoDays, day1))
      expect(report.status).toBe("succeeded")
      expect(report.samplesRead).toBe(1440)
      expect(report.windows).toBe(144)
      expect(report.rowsWritten).toBe(rows.length)
      // 144 windows x 2 variables x 4 statistics.
      expect(rows.length).toBe(144 * 2 * 4)
    }).pipe(Effect.provide(layers(twoDays)))
  )

  it.effect("running the same partition twice leaves the sink identical", () =>
    Effect.gen(function* () {
      const memory = yield* MemorySink.MemorySink
      yield* Pipeline.run(day1)
      const first = yield* memory.rows
      const again = yield* Pipeline.run(day1)
      expect(yield* memory.rows).toEqual(first)
      expect(again.rowsDeleted).toBe(0)
    }).pipe(Effect.provide(layers(twoDays)))
  )

  it.effect("a re-run after the source changed leaves no stale row", () =>
    Effect.gen(function* () {
      const { memory, sink } = MemorySink.make()
      const run = (frame: SampleFrame.SampleFrame) =>
        Pipeline.run(day1).pipe(
          Effect.provideService(Source, MemorySource.make(frame)),
          Effect.provideService(Sink, sink)
        )
      yield* run(twoDays)
      // The source loses the first window's samples and changes one value.
      const changed = SampleFrame.slice(twoDays, 10, twoDays.length)
      changed.columns.wind_speed![5] = 42
      const report = yield* run(changed)
      const rows = yield* memory.rows
      expect(rows).toEqual(expectedRows(changed, day1))
      expect(rows.some((row) => row.timestamp === "2024-01-01T00:00:00.000Z")).toBe(false)
      expect(report.rowsDeleted).toBe(8)
    })
  )

  it.effect("a failing source leaves the sink untouched", () =>
    Effect.gen(function* () {
      const { memory, sink } = MemorySink.make()
      yield* Pipeline.run(day1).pipe(
        Effect.provideService(Source, MemorySource.make(twoDays)),
        Effect.provideService(Sink, sink)
      )
      const before = yield* memory.rows
      const failing = Source.of({
        name: "flaky",
        extract: (request) =>
          MemorySource.make(SampleFrame.slice(twoDays, 0, 700))
            .extract(request)
            .pipe(Stream.concat(Stream.fail(new SourceUnavailable({ source: "flaky", reason: "connection reset" }))))
      })
      const error = yield* Pipeline.run(day1).pipe(
        Effect.provideService(Source, failing),
        Effect.provideService(Sink, sink),
        Effect.flip
      )
      assert.strictEqual(error._tag, "SourceUnavailable")
      expect(error.message).toBe("source unavailable at flaky: connection reset")
      expect(yield* memory.rows).toEqual(before)
    })
  )

  it.live("a range runs each day with bounded concurrency and reports failures per partition", () =>
    Effect.gen(function* () {
      const { memory, sink } = MemorySink.make()
      let running = 0
      let peak = 0
      const failOn = "2024-01-03"
      const guarded = Sink.of({
        name: "guarded",
        load: (request) =>
          Effect.gen(function* () {
            running++
            peak = Math.max(peak, running)
            yield* Effect.sleep(5)
            running--
            if (request.partition.day === failOn) {
              return yield* new SinkLoadFailed({
                sink: "guarded",
                partition: request.partition.day,
                reason: "disk full"
              })
            }
            return yield* sink.load(request)
          })
      })
      const partitions = yield* Partition.parseRange("2023-12-31", "2024-01-03")
      // The edge days have no samples: allowEmpty loads them, so the 3rd meets the failing sink.
      const reports = yield* Pipeline.runAll(partitions, { concurrency: 2, allowEmpty: true }).pipe(
        Effect.provideService(Source, MemorySource.make(twoDays)),
        Effect.provideService(Sink, guarded)
      )
      expect(reports.map((report) => [report.day, report.status])).toEqual([
        ["2023-12-31", "empty"],
        ["2024-01-01", "succeeded"],
        ["2024-01-02", "succeeded"],
        ["2024-01-03", "failed"]
      ])
      expect(reports[0]!.rowsWritten).toBe(0)
      expect(reports[3]!.error).toEqual({
        tag: "SinkLoadFailed",
        message: "loading 2024-01-03 into guarded failed (previous rows kept): disk full"
      })
      expect(peak).toBe(2)
      const rows = yield* memory.rows
      expect(rows).toEqual([
        ...expectedRows(twoDays, day1),
        ...expectedRows(twoDays, Partition.makeUnsafe("2024-01-02"))
      ])
    })
  )

  it.effect("the chosen variables, statistics and window length shape the rows", () =>
    Effect.gen(function* () {
      const partition = Partition.makeUnsafe("2024-01-02")
      yield* Pipeline.run(partition, {
        variables: defaultVariables.slice(1),
        statistics: ["count", "max"],
        every: yield* Window.parseLength("30min")
      })
      const rows = yield* (yield* MemorySink.MemorySink).rows
      expect(new Set(rows.map((row) => row.signal))).toEqual(new Set(["power_count", "power_max"]))
      expect(new Set(rows.map((row) => row.timestamp)).size).toBe(48)
    }).pipe(Effect.provide(layers(twoDays)))
  )

  it.effect("an invalid day or reversed range is a typed error naming it", () =>
    Effect.gen(function* () {
      const bad = yield* Effect.flip(Partition.parse("2024-02-30"))
      expect(bad.message).toBe('invalid date "2024-02-30": expected an existing day YYYY-MM-DD')
      const zone = yield* Effect.flip(Partition.parse("2024-02-03", "Mars/Olympus"))
      expect(zone.message).toBe('invalid time zone "Mars/Olympus": expected an IANA name')
      const reversed = yield* Effect.flip(Partition.parseRange("2024-02-03", "2024-02-01"))
      expect(reversed._tag).toBe("InvalidDayRange")
    })
  )
})

describe("Pipeline: a partition without samples", () => {
  /** A sink that counts its loads, over a memory sink. */
  const counting = () => {
    const { memory, sink } = MemorySink.make()
    const loads: Array<number> = []
    const counted = Sink.of({
      name: "counting",
      load: (request) =>
        Effect.suspend(() => {
          loads.push(request.rows.length)
          return sink.load(request)
        })
    })
    return { memory, sink: counted, loads }
  }
  const day2 = Partition.makeUnsafe("2024-01-02")
  const firstDayOnly = SampleFrame.slice(twoDays, 0, 1440)

  it.effect("is empty: the sink is not called and the rows already there are kept", () =>
    Effect.gen(function* () {
      const { loads, memory, sink } = counting()
      yield* Pipeline.run(day2).pipe(
        Effect.provideService(Source, MemorySource.make(twoDays)),
        Effect.provideService(Sink, sink)
      )
      const loaded = yield* memory.rows
      expect(loads).toHaveLength(1)
      // The source now has nothing for the 2nd (a `200 []`).
      const report = yield* Pipeline.run(day2).pipe(
        Effect.provideService(Source, MemorySource.make(firstDayOnly)),
        Effect.provideService(Sink, sink)
      )
      expect(report).toMatchObject({ status: "empty", samplesRead: 0, windows: 0, rowsWritten: 0, rowsDeleted: 0 })
      expect(loads).toHaveLength(1)
      expect(yield* memory.rows).toEqual(loaded)
    })
  )

  it.effect("samples only outside the partition are no samples either", () =>
    Effect.gen(function* () {
      const { loads, sink } = counting()
      // A source that ignores the range and sends the 1st when asked for the 2nd.
      const careless = Source.of({ name: "careless", extract: () => Stream.make(firstDayOnly) })
      const report = yield* Pipeline.run(day2).pipe(
        Effect.provideService(Source, careless),
        Effect.provideService(Sink, sink)
      )
      expect(report).toMatchObject({ status: "empty", samplesRead: 1440, samplesIgnored: 1440, rowsWritten: 0 })
      expect(loads).toEqual([])
    })
  )

  it.effect("with allowEmpty, loads the empty result: the old rows are removed, and the run is still empty", () =>
    Effect.gen(function* () {
      const { loads, memory, sink } = counting()
      yield* Pipeline.run(day2).pipe(
        Effect.provideService(Source, MemorySource.make(twoDays)),
        Effect.provideService(Sink, sink)
      )
      const before = (yield* memory.rows).length
      const report = yield* Pipeline.run(day2, { allowEmpty: true }).pipe(
        Effect.provideService(Source, MemorySource.make(firstDayOnly)),
        Effect.provideService(Sink, sink)
      )
      expect(report).toMatchObject({ status: "empty", rowsWritten: 0, rowsDeleted: before })
      expect(loads).toEqual([before, 0])
      expect(yield* memory.rows).toEqual([])
    })
  )
})
