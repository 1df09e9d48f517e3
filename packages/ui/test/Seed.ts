/**
 * A small farm in a target database, through the library as a user would run it: turbines × days
 * loaded by `Pipeline.runBatchRecorded` from a `MemorySource` into the Postgres sink and ledger, with
 * one partition of each state the UI shows (degraded from a gap under a coverage policy, empty from
 * a day without samples, failed and running recorded through the ledger) and the default series.
 */
import { type Asset, Ledger, MemorySource, Partition, Pipeline, Runner, SampleFrame, Timestamp } from "@delfos/etl"
import { Migrations, PostgresSink, RunLedger } from "@delfos/etl-sink-postgres"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as SqlClient from "effect/sql/SqlClient"

export interface Farm {
  readonly pipeline: string
  readonly from: string
  /** Days run (the day after them is in no run: missing). */
  readonly days: number
  readonly turbines: ReadonlyArray<string>
  /** Turbine-days with a state of their own; every other run day of a turbine succeeds. */
  readonly degraded: { readonly asset: string; readonly day: string }
  readonly empty: { readonly asset: string; readonly day: string }
  readonly failed: { readonly asset: string; readonly day: string; readonly error: string }
  readonly running: { readonly asset: string; readonly day: string }
  /** Days of the default series (no turbine), from the first. */
  readonly defaultDays: number
}

export const farm = (options: { readonly turbines?: number; readonly days?: number } = {}): Farm => {
  const turbines = Array.from({ length: options.turbines ?? 4 }, (_, i) => `WTG${String(i + 1).padStart(2, "0")}`)
  const from = "2024-03-01"
  const day = (n: number) => Partition.addDays(Partition.Day.make(from), n)
  return {
    pipeline: "default",
    from,
    days: options.days ?? 5,
    turbines,
    degraded: { asset: turbines[1]!, day: day(2) },
    empty: { asset: turbines[2]!, day: day(1) },
    failed: {
      asset: turbines[3]!,
      day: day(3),
      error: "SourceUnavailable: the fonte at http://fonte.example:8000/api/v1 did not answer (ECONNREFUSED)"
    },
    running: { asset: turbines[0]!, day: day((options.days ?? 5) - 1) },
    defaultDays: 2
  }
}

const minute = 60_000

/** Minute samples of wind_speed and power, reproducible from the seed (a small LCG), for `days` days. */
const minuteFrame = (start: number, days: number, seed: number, keep: (t: number) => boolean) => {
  let state = seed >>> 0
  const random = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
    return state / 2 ** 32
  }
  const timestamps: Array<number> = []
  const wind: Array<number> = []
  const power: Array<number> = []
  for (let i = 0; i < days * 1440; i++) {
    const t = start + i * minute
    const speed = 7 + 3 * Math.sin(i / 180 + seed) + 2 * Math.sin(i / 37) + random() * 1.5
    const watts = Math.min(5000, Math.max(0, 9 * speed ** 3)) + random() * 40
    if (!keep(t)) continue
    timestamps.push(t)
    wind.push(speed)
    power.push(watts)
  }
  return SampleFrame.make(Float64Array.from(timestamps), {
    wind_speed: Float64Array.from(wind),
    power: Float64Array.from(power)
  })
}

/** The frames of every turbine and the default series, with the empty day and the gap left out. */
export const frames = (farm: Farm): Array<SampleFrame.SampleFrame> => {
  const start = Timestamp.parse(farm.from)
  const within = (t: number, day: string, fromHour: number, toHour: number) => {
    const dayStart = Timestamp.parse(day)
    return t >= dayStart + fromHour * 3_600_000 && t < dayStart + toHour * 3_600_000
  }
  const turbines = farm.turbines.map((asset, k) =>
    SampleFrame.withAsset(
      minuteFrame(start, farm.days, k + 1, (t) => {
        if (asset === farm.empty.asset && within(t, farm.empty.day, 0, 24)) return false
        // Eight hours without a sample: coverage 0.67, below the policy's 0.9.
        if (asset === farm.degraded.asset && within(t, farm.degraded.day, 8, 16)) return false
        return true
      }),
      asset as Asset.AssetId
    )
  )
  return [...turbines, minuteFrame(start, farm.defaultDays, 99, () => true)]
}

/** Runs the farm into the target of the `SqlClient` in context. */
export const seed = (farm: Farm): Effect.Effect<void, unknown, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    yield* Migrations.migrate
    const options = { name: farm.pipeline, quality: { minCoverage: 0.9 } }
    const special = [farm.failed, farm.running].map((entry) => `${entry.day}|${entry.asset}`)
    for (let n = 0; n < farm.days; n++) {
      const day = Partition.addDays(Partition.Day.make(farm.from), n)
      const partitions = farm.turbines
        .filter((asset) => !special.includes(`${day}|${asset}`))
        .map((asset) => Partition.makeUnsafe(day, "UTC", asset))
      yield* Pipeline.runBatchRecorded(partitions, options)
      if (n < farm.defaultDays) yield* Pipeline.runBatchRecorded([Partition.makeUnsafe(day, "UTC")], options)
    }
    const ledger = yield* Ledger.Ledger
    const [failed] = yield* ledger.start(
      farm.pipeline,
      [Partition.makeUnsafe(farm.failed.day, "UTC", farm.failed.asset)],
      "worker-7:4242"
    )
    yield* ledger.fail([failed!], farm.failed.error)
    // Still running: a heartbeat now (the UI under test judges staleness over a long `staleAfter`).
    yield* ledger.start(
      farm.pipeline,
      [Partition.makeUnsafe(farm.running.day, "UTC", farm.running.asset)],
      "worker-7:4242"
    )
  }).pipe(
    Effect.provide(
      Layer.mergeAll(
        MemorySource.layer(frames(farm)),
        PostgresSink.layerFromClient(),
        RunLedger.layerFromClient,
        Runner.layer({ id: "seed:1" })
      )
    )
  )

/** The state the grid must show for a turbine-day of the farm (`''` the default series). */
export const expectedState = (farm: Farm, asset: string, day: string): string => {
  const index = Partition.dayNumber(Partition.Day.make(day)) - Partition.dayNumber(Partition.Day.make(farm.from))
  if (asset === "") return index < farm.defaultDays ? "succeeded" : "missing"
  const is = (entry: { readonly asset: string; readonly day: string }) => entry.asset === asset && entry.day === day
  if (is(farm.failed)) return "failed"
  if (is(farm.running)) return "running"
  if (is(farm.empty)) return "empty"
  if (is(farm.degraded)) return "degraded"
  return index >= 0 && index < farm.days ? "succeeded" : "missing"
}
