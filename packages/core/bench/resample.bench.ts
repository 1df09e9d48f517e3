/**
 * Resample and Resample + Unpivot over a year of 1-minute samples of three variables, through
 * the library's real API: one partition per day, each day arriving as frames (chunks), default
 * statistics; with the default quality checks too; and a fleet of 100 turbines through
 * `Resample.Fleet` in batches of 25 a day; and 100 turbines × 30 days through the pipeline's
 * transform (a frame per turbine-day into a `Fleet`, unpivot, and with the default quality checks).
 * Prints input values per second and peak memory.
 * Run: `npm run bench -w @delfos/etl` (`node packages/core/bench/resample.bench.ts --fleet` for
 * the fleet transform alone, `--fleet-days 365` for a fleet-year).
 */
import { cpus } from "node:os"
import type { AssetId } from "../src/Asset.ts"
import * as Partition from "../src/Partition.ts"
import * as Quality from "../src/Quality.ts"
import * as Resample from "../src/Resample.ts"
import * as SampleFrame from "../src/SampleFrame.ts"
import { knownVariables } from "../src/Signal.ts"
import * as Unpivot from "../src/Unpivot.ts"

const minutesPerYear = 525_600
const variables = knownVariables

/**
 * A year of minutes from 2023-01-01 (365 days) for one turbine, 0.5% of values missing. `shape`
 * "turbine" is SCADA-like: wind an autocorrelated process with a daily pattern, power from a power
 * curve, temperature a daily cycle with noise. "uniform" is independent uniform noise in every
 * variable: the worst case for the min/max branches.
 */
const makeYear = (seed: number, shape: "turbine" | "uniform" = "turbine"): SampleFrame.SampleFrame => {
  let state = seed
  const random = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
    return state / 4_294_967_296
  }
  const start = Date.UTC(2023, 0, 1)
  const timestamps = Float64Array.from({ length: minutesPerYear }, (_, i) => start + i * 60_000)
  const wind = new Float64Array(minutesPerYear)
  let gust = 0
  for (let i = 0; i < minutesPerYear; i++) {
    gust = 0.95 * gust + 0.6 * (random() - 0.5)
    const daily = 7 + 2 * Math.sin(((i % 1440) / 1440) * 2 * Math.PI)
    wind[i] = shape === "uniform" ? 25 * random() : Math.max(0, daily + 4 * gust)
  }
  const powerCurve = (v: number) => (v < 3 || v > 25 ? 0 : v >= 12 ? 5000 : 5000 * ((v - 3) / 9) ** 3)
  const missing = (column: Float64Array) => {
    for (let i = 0; i < minutesPerYear; i++) if (random() < 0.005) column[i] = Number.NaN
    return column
  }
  return SampleFrame.make(timestamps, {
    wind_speed: missing(wind.slice()),
    power: missing(
      Float64Array.from(wind, (v) => (shape === "uniform" ? 5000 * random() : powerCurve(v) * (0.98 + 0.04 * random())))
    ),
    ambient_temperature: missing(
      Float64Array.from(wind, (_, i) =>
        shape === "uniform" ? 40 * random() : 20 + 5 * Math.sin((i / 1440) * 2 * Math.PI) + 0.3 * (random() - 0.5)
      )
    )
  })
}

/** The year cut into daily partitions, each day's samples as frames of `chunk` (views, no copy). */
const partitionsOf = (year: SampleFrame.SampleFrame, chunk: number) =>
  Partition.days(Partition.Day.make("2023-01-01"), Partition.Day.make("2023-12-31")).map((day, d) => {
    const partition = { day, timeZone: Partition.utc }
    return {
      range: Partition.range(partition),
      frames: SampleFrame.chunks(SampleFrame.slice(year, d * 1440, (d + 1) * 1440), chunk)
    }
  })

type Day = ReturnType<typeof partitionsOf>[number]

let sink = 0
const checks = Quality.defaults()
const runYear = (days: ReadonlyArray<Day>, unpivot: boolean, quality = false) => {
  for (const { frames, range } of days) {
    const resampler = Resample.make({ range, variables, keepSamples: quality })
    for (const frame of frames) resampler.add(frame)
    const windows = resampler.result()
    sink += unpivot ? Unpivot.unpivot(windows).length : windows.windowsWithData
    if (quality) {
      const findings = Quality.run(checks, {
        partition: { day: Partition.Day.make("2023-01-01"), timeZone: Partition.utc },
        range,
        cadence: 60_000,
        samples: resampler.sortedSamples(),
        duplicates: windows.duplicates,
        outside: windows.ignored
      })
      sink += findings.length
    }
  }
}

/**
 * A fleet-year through `Resample.Fleet`: each day, the turbines in batches of `batch`, each
 * turbine's day one frame (turbine k reads input year k mod the years given), then per turbine the
 * windows and their tidy rows.
 */
const runFleet = (years: ReadonlyArray<ReadonlyArray<Day>>, turbines: number, batch: number) => {
  const ids = Array.from({ length: turbines }, (_, k) => `WTG${String(k + 1).padStart(3, "0")}` as AssetId)
  for (let d = 0; d < 365; d++) {
    const range = years[0]![d]!.range
    for (let from = 0; from < turbines; from += batch) {
      const fleet = Resample.makeFleet({ range, variables })
      const assets = ids.slice(from, from + batch)
      assets.forEach((asset, i) => {
        for (const frame of years[(from + i) % years.length]![d]!.frames) fleet.add(SampleFrame.withAsset(frame, asset))
      })
      for (const asset of assets) sink += Unpivot.unpivot(fleet.result(asset)).length
    }
  }
}
/**
 * A fleet through the pipeline's own transform (`Pipeline.transform`): each day, the turbines in
 * batches of 25 (`Pipeline.defaultBatchSize`), every turbine-day one frame as the HTTP source
 * decodes it, added to one `Resample.Fleet`; then per turbine its windows, its tidy rows and, with
 * `quality`, the default checks on its sorted samples (`keepSamples`, `Quality.run`).
 */
interface FleetDay {
  readonly partition: Partition.Partition
  readonly range: Partition.TimeRange
  /** The day's frames, one per turbine, in batches. */
  readonly batches: ReadonlyArray<ReadonlyArray<SampleFrame.SampleFrame>>
}

const fleetDays = (years: ReadonlyArray<ReadonlyArray<Day>>, turbines: number, days: number): Array<FleetDay> => {
  const ids = Array.from({ length: turbines }, (_, k) => `WTG${String(k + 1).padStart(3, "0")}` as AssetId)
  return Array.from({ length: days }, (_, d) => {
    const frames = ids.map((asset, k) => {
      const [frame] = years[k % years.length]![d]!.frames
      return SampleFrame.withAsset(frame!, asset)
    })
    const batches: Array<Array<SampleFrame.SampleFrame>> = []
    for (let from = 0; from < turbines; from += 25) batches.push(frames.slice(from, from + 25))
    const partition = { day: Partition.addDays(Partition.Day.make("2023-01-01"), d), timeZone: Partition.utc }
    return { partition, range: years[0]![d]!.range, batches }
  })
}

const transformFleet = (days: ReadonlyArray<FleetDay>, quality: boolean) => {
  for (const { batches, partition, range } of days) {
    for (const frames of batches) {
      const fleet = Resample.makeFleet({ range, variables, keepSamples: quality })
      for (const frame of frames) fleet.add(frame)
      for (const frame of frames) {
        const windows = fleet.result(frame.asset)
        sink += Unpivot.unpivot(windows).length
        if (quality && windows.samples > 0) {
          sink += Quality.run(checks, {
            partition: { ...partition, asset: frame.asset },
            range,
            cadence: 60_000,
            samples: fleet.sortedSamples(frame.asset),
            duplicates: windows.duplicates,
            outside: windows.ignored
          }).length
        }
      }
    }
  }
}

const measureTransform = (label: string, days: ReadonlyArray<FleetDay>, quality: boolean, runs: number) => {
  transformFleet(days, quality)
  transformFleet(days, quality)
  const times: Array<number> = []
  // CPU time as well as wall time: on a shared machine a run waits for a core now and then.
  const cpuTimes: Array<number> = []
  for (let r = 0; r < runs; r++) {
    const started = performance.now()
    const cpu = process.cpuUsage()
    transformFleet(days, quality)
    times.push(performance.now() - started)
    const used = process.cpuUsage(cpu)
    cpuTimes.push((used.user + used.system) / 1000)
    sampleMemory()
  }
  const ms = median(times)
  const cpuMs = median(cpuTimes)
  const values = days.reduce(
    (total, day) => total + day.batches.flat().reduce((n, frame) => n + frame.length, 0) * variables.length,
    0
  )
  return {
    label: `${label} (CPU ${cpuMs.toFixed(1)} ms, ${(values / (cpuMs / 1000) / 1e6).toFixed(1)} M values/s of CPU)`,
    ms,
    valuesPerSecond: values / (ms / 1000)
  }
}

let peakRss = 0
const sampleMemory = () => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
}

const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const measure = (
  label: string,
  years: ReadonlyArray<ReadonlyArray<Day>>,
  unpivot: boolean,
  runs: number,
  quality = false
) => {
  // Warm up until the JIT has settled: ~30 partition-years.
  for (let i = 0; i < Math.ceil(30 / years.length); i++) for (const year of years) runYear(year, unpivot, quality)
  const times: Array<number> = []
  for (let r = 0; r < runs; r++) {
    const started = performance.now()
    for (const year of years) runYear(year, unpivot, quality)
    times.push(performance.now() - started)
    sampleMemory()
  }
  const ms = median(times)
  const values = years.length * minutesPerYear * variables.length
  return { label, ms, valuesPerSecond: values / (ms / 1000) }
}

const measureFleet = (label: string, years: ReadonlyArray<ReadonlyArray<Day>>, turbines: number, runs: number) => {
  runFleet(years, turbines, 25)
  const times: Array<number> = []
  for (let r = 0; r < runs; r++) {
    const started = performance.now()
    runFleet(years, turbines, 25)
    times.push(performance.now() - started)
    sampleMemory()
  }
  const ms = median(times)
  const values = turbines * minutesPerYear * variables.length
  return { label, ms, valuesPerSecond: values / (ms / 1000) }
}

const years = process.argv.includes("--quick") ? 2 : 10
console.log(`node ${process.version}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}`)
// `--fleet` runs only the fleet transform (100 turbines × 30 days; `--fleet-days 365` for a year).
const fleetOnly = process.argv.includes("--fleet")
const fleetDaysArg = process.argv.indexOf("--fleet-days")
const fleetDayCount = fleetDaysArg < 0 ? 30 : Number(process.argv[fleetDaysArg + 1])
if (fleetOnly) {
  const inputs = Array.from({ length: years }, (_, s) => partitionsOf(makeYear(s + 2), 1440))
  const month = fleetDays(inputs, 100, fleetDayCount)
  const results = [
    measureTransform(
      `Resample + Unpivot, 100 turbines x ${fleetDayCount} days (Pipeline's transform)`,
      month,
      false,
      9
    ),
    measureTransform(`+ default quality checks (keepSamples, Quality.run)`, month, true, 9)
  ]
  console.log("\n| workload | median time | input values/s |")
  console.log("|---|---:|---:|")
  for (const { label, ms, valuesPerSecond } of results) {
    console.log(`| ${label} | ${ms.toFixed(1)} ms | ${(valuesPerSecond / 1e6).toFixed(1)} M |`)
  }
  console.log(`\npeak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`)
  if (sink < 0) console.log(sink)
  process.exit(0)
}
const one = [partitionsOf(makeYear(1), 1440)]
const oneChunked = [partitionsOf(makeYear(1), 100)]
const uniform = [partitionsOf(makeYear(1, "uniform"), 1440)]
sampleMemory()
const results = [
  measure("Resample, 1 year (365 partitions, one frame each)", one, false, 15),
  measure("Resample + Unpivot, 1 year", one, true, 15),
  measure("Resample + Unpivot, 1 year, frames of 100 samples", oneChunked, true, 15),
  measure("Resample, 1 year of uniform noise (worst case)", uniform, false, 15),
  measure("Resample + Unpivot, 1 year of uniform noise (worst case)", uniform, true, 15),
  measure("Resample + default quality checks, 1 year", one, false, 15, true),
  measure("Resample + Unpivot + default quality checks, 1 year", one, true, 15, true)
]
const many = Array.from({ length: years }, (_, s) => partitionsOf(makeYear(s + 2), 1440))
sampleMemory()
results.push(
  measure(`Resample, ${years} series`, many, false, 5),
  measure(`Resample + Unpivot, ${years} series`, many, true, 5),
  measureFleet(
    `Resample + Unpivot, 100 turbines x 1 year (Fleet, batches of 25; ${years} distinct input years)`,
    many,
    100,
    3
  ),
  measureTransform(
    "Resample + Unpivot, 100 turbines x 30 days (Pipeline's transform: Fleet, batches of 25)",
    fleetDays(many, 100, 30),
    false,
    9
  ),
  measureTransform(
    "Resample + Unpivot + default quality checks, 100 turbines x 30 days (Pipeline's transform)",
    fleetDays(many, 100, 30),
    true,
    9
  )
)

console.log("\n| workload | median time | input values/s |")
console.log("|---|---:|---:|")
for (const { label, ms, valuesPerSecond } of results) {
  console.log(`| ${label} | ${ms.toFixed(1)} ms | ${(valuesPerSecond / 1e6).toFixed(1)} M |`)
}
console.log(
  `\npeak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB (includes the ${years + 3} generated years of input, ${(((years + 3) * minutesPerYear * 4 * 8) / 2 ** 20).toFixed(0)} MiB)`
)
if (sink < 0) console.log(sink)
