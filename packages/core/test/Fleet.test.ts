/**
 * A farm: frames of many assets, resampled per (asset, variable) whatever their order and
 * chunking, run in batches of a day's assets, loaded together, one report per turbine-day.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fc from "fast-check"
import * as Asset from "../src/Asset.ts"
import * as Backfill from "../src/Backfill.ts"
import { Ledger } from "../src/Ledger.ts"
import * as MemoryLedger from "../src/MemoryLedger.ts"
import * as MemorySink from "../src/MemorySink.ts"
import * as MemorySource from "../src/MemorySource.ts"
import * as Partition from "../src/Partition.ts"
import * as Pipeline from "../src/Pipeline.ts"
import * as Resample from "../src/Resample.ts"
import * as SampleFrame from "../src/SampleFrame.ts"
import { defaultVariables } from "../src/Signal.ts"
import { type LoadRequest, Sink, SinkLoadFailed } from "../src/Sink.ts"

const day = Date.UTC(2024, 0, 1)
const assets = ["WTG01", "WTG02", "WTG03"].map((id) => Asset.AssetId.make(id))

/** `days` of minute samples for an asset: each asset its own wave and its own gaps. */
const series = (asset: Asset.AssetId, days: number, seed: number): SampleFrame.SampleFrame => {
  const n = days * 1440
  const timestamps = Float64Array.from({ length: n }, (_, i) => day + i * 60_000)
  const wind = Float64Array.from({ length: n }, (_, i) => 7 + seed + 3 * Math.sin(i / (30 + seed)))
  const power = Float64Array.from({ length: n }, (_, i) =>
    (i + seed) % 89 === 0 ? Number.NaN : 1000 * seed + 700 * Math.cos(i / 41)
  )
  return SampleFrame.make(timestamps, { wind_speed: wind, power }, asset)
}

const fleet = assets.map((asset, i) => series(asset, 2, i + 1))

interface Stat {
  readonly count: number
  readonly mean: number
  readonly min: number
  readonly max: number
  readonly std: number
}

/** A plain two-pass reference over one window's values (not the library's code). */
const reference = (values: ReadonlyArray<number>): Stat | undefined => {
  const valid = values.filter((value) => Number.isFinite(value))
  if (valid.length === 0) return undefined
  const mean = valid.reduce((sum, value) => sum + value, 0) / valid.length
  const squares = valid.reduce((sum, value) => sum + (value - mean) ** 2, 0)
  return {
    count: valid.length,
    mean,
    min: Math.min(...valid),
    max: Math.max(...valid),
    std: valid.length < 2 ? Number.NaN : Math.sqrt(squares / (valid.length - 1))
  }
}

/** The expected rows of an asset's day, from the raw samples, with the reference above. */
const expectedRows = (frame: SampleFrame.SampleFrame, partition: Partition.Partition) => {
  const { end, start } = Partition.range(partition)
  const rows: Array<{ timestamp: number; signal: string; value: number }> = []
  for (let window = start; window < end; window += 600_000) {
    for (const variable of ["power", "wind_speed"]) {
      const values: Array<number> = []
      for (let i = 0; i < frame.length; i++) {
        const t = frame.timestamps[i]!
        if (t >= window && t < window + 600_000) values.push(frame.columns[variable]![i]!)
      }
      const stat = reference(values)
      if (stat === undefined) continue
      for (const statistic of ["max", "mean", "min", "std"] as const) {
        if (Number.isFinite(stat[statistic]))
          rows.push({ timestamp: window, signal: `${variable}_${statistic}`, value: stat[statistic] })
      }
    }
  }
  return rows
}

const close = (actual: number, expected: number) =>
  Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected))

describe("Resample.Fleet", () => {
  it("each asset's windows are those of resampling it alone, whatever the interleaving and chunking", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 6, maxLength: 40 }),
        fc.integer({ min: 7, max: 500 }),
        (order, chunk) => {
          const range = Partition.range(Partition.makeUnsafe("2024-01-01"))
          const resampler = Resample.makeFleet({ range, variables: defaultVariables })
          // The assets' chunks, dealt out in the order fast-check drew (then whatever is left).
          const queues = fleet.map((frame) => SampleFrame.chunks(frame, chunk))
          for (const pick of order) {
            const next = queues[pick]!.shift()
            if (next !== undefined) resampler.add(next)
          }
          for (const queue of queues) for (const frame of queue) resampler.add(frame)
          for (const [i, asset] of assets.entries()) {
            const alone = Resample.resample(fleet[i]!, { range, variables: defaultVariables })
            const mixed = resampler.result(asset)
            expect(mixed.asset).toBe(asset)
            expect(mixed.samples).toBe(alone.samples)
            for (const variable of defaultVariables) {
              const a = alone.columns[variable]!
              const b = mixed.columns[variable]!
              expect(b.count).toEqual(a.count)
              expect(b.min).toEqual(a.min)
              expect(b.max).toEqual(a.max)
              for (let w = 0; w < a.mean.length; w++) {
                expect(Number.isNaN(a.mean[w]!) ? Number.isNaN(b.mean[w]!) : close(b.mean[w]!, a.mean[w]!)).toBe(true)
                expect(Number.isNaN(a.std[w]!) ? Number.isNaN(b.std[w]!) : close(b.std[w]!, a.std[w]!)).toBe(true)
              }
            }
          }
          // An asset that sent nothing has empty windows, not another asset's.
          expect(resampler.result(Asset.AssetId.make("WTG99")).samples).toBe(0)
        }
      ),
      { numRuns: 25 }
    )
  })
})

const layers = Layer.mergeAll(MemorySource.layer(fleet, { chunkSize: 333 }), MemorySink.layer(), MemoryLedger.layer())

describe("Pipeline over a fleet", () => {
  it.effect("a batch of a day's assets writes each turbine's rows, computed independently, and reports each", () =>
    Effect.gen(function* () {
      const partitions = [...assets, Asset.AssetId.make("WTG04")].map((asset) =>
        Partition.makeUnsafe("2024-01-02", "UTC", asset)
      )
      const reports = yield* Pipeline.runBatch(partitions)
      expect(reports.map((report) => [report.asset, report.status, report.samplesRead])).toEqual([
        ["WTG01", "succeeded", 1440],
        ["WTG02", "succeeded", 1440],
        ["WTG03", "succeeded", 1440],
        // No samples of WTG04 at all: empty, nothing loaded.
        ["WTG04", "empty", 0]
      ])
      const rows = yield* (yield* MemorySink.MemorySink).rows
      for (const [i, asset] of assets.entries()) {
        const expected = expectedRows(fleet[i]!, partitions[i]!)
        const actual = rows.filter((row) => row.asset === asset)
        expect(actual.length).toBe(expected.length)
        expected.forEach((row, r) => {
          const got = actual[r]!
          expect([Date.parse(got.timestamp), got.signal]).toEqual([row.timestamp, row.signal])
          expect(close(got.value, row.value), `${asset} ${got.signal} ${got.timestamp}`).toBe(true)
        })
      }
      expect(rows.every((row) => row.asset !== undefined)).toBe(true)
    }).pipe(Effect.provide(layers))
  )

  it.effect("a range runs in batches of batchSize assets per day, every turbine-day reported in order", () =>
    Effect.gen(function* () {
      const days = yield* Partition.parseRange("2024-01-01", "2024-01-02")
      const partitions = Partition.forAssets(days, assets)
      expect(Pipeline.batches(partitions, 2).map((batch) => batch.map(Partition.format))).toEqual([
        ["2024-01-01 WTG01", "2024-01-01 WTG02"],
        ["2024-01-01 WTG03"],
        ["2024-01-02 WTG01", "2024-01-02 WTG02"],
        ["2024-01-02 WTG03"]
      ])
      const reports = yield* Pipeline.runAll(partitions, { batchSize: 2, concurrency: 2 })
      expect(reports.map((report) => `${report.day} ${report.asset} ${report.status}`)).toEqual(
        partitions.map((partition) => `${Partition.format(partition)} succeeded`)
      )
    }).pipe(Effect.provide(layers))
  )

  it.effect("a batch load refused for one partition's data fails that partition alone", () =>
    Effect.gen(function* () {
      const { memory, sink } = MemorySink.make()
      const refusesWtg02 = (request: LoadRequest) =>
        request.partition.asset === "WTG02"
          ? Effect.fail(new SinkLoadFailed({ sink: "test", partition: "WTG02", reason: "refused" }))
          : sink.load(request)
      const picky = Sink.of({
        name: "picky",
        load: refusesWtg02,
        // The batch fails as a whole, as a transaction would: the pipeline then loads partition by partition.
        loadBatch: (requests) => Effect.forEach(requests, refusesWtg02)
      })
      const partitions = assets.map((asset) => Partition.makeUnsafe("2024-01-01", "UTC", asset))
      const reports = yield* Pipeline.runBatch(partitions).pipe(Effect.provide(Layer.succeed(Sink, picky)))
      expect(reports.map((report) => [report.asset, report.status])).toEqual([
        ["WTG01", "succeeded"],
        ["WTG02", "failed"],
        ["WTG03", "succeeded"]
      ])
      expect(reports[1]!.error?.message).toContain("refused")
      const held = new Set((yield* memory.rows).map((row) => row.asset))
      expect([...held].sort()).toEqual(["WTG01", "WTG03"])
    }).pipe(Effect.provide(MemorySource.layer(fleet)))
  )

  it.live("a backfill retries only the turbine-days of a batch that failed, each recorded", () =>
    Effect.gen(function* () {
      const { sink } = MemorySink.make()
      let refusals = 1
      const flaky = Sink.of({
        name: "flaky",
        load: (request) =>
          request.partition.asset === "WTG03" && refusals-- > 0
            ? Effect.fail(new SinkLoadFailed({ sink: "flaky", partition: "WTG03", reason: "once" }))
            : sink.load(request)
      })
      const partitions = assets.map((asset) => Partition.makeUnsafe("2024-01-01", "UTC", asset))
      const summary = yield* Backfill.runAll(partitions, { backoff: "1 millis", name: "fleet" }).pipe(
        Effect.provide(Layer.succeed(Sink, flaky))
      )
      expect(summary).toMatchObject({ planned: 3, succeeded: 3, failed: 0, retries: 1 })
      const ledger = yield* Ledger
      const attempts = yield* Effect.forEach(partitions, (partition) => ledger.runs("fleet", partition))
      expect(attempts.map((runs) => runs.map((run) => `${run.asset} ${run.attempt} ${run.status}`))).toEqual([
        ["WTG01 1 succeeded"],
        ["WTG02 1 succeeded"],
        ["WTG03 1 failed", "WTG03 2 succeeded"]
      ])
    }).pipe(Effect.provide(Layer.merge(MemorySource.layer(fleet), MemoryLedger.layer())))
  )
})
