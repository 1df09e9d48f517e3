/**
 * Data quality: each default check on data with a known fault (and on healthy data), the window
 * coverage statistic, a check of one's own, and the policies that flag or refuse a partition.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Ledger } from "../src/Ledger.ts"
import * as MemoryLedger from "../src/MemoryLedger.ts"
import * as MemorySink from "../src/MemorySink.ts"
import * as MemorySource from "../src/MemorySource.ts"
import * as Partition from "../src/Partition.ts"
import * as Partitions from "../src/Partitions.ts"
import * as Pipeline from "../src/Pipeline.ts"
import * as Quality from "../src/Quality.ts"
import * as Resample from "../src/Resample.ts"
import * as SampleFrame from "../src/SampleFrame.ts"
import { defaultVariables, type Variable } from "../src/Signal.ts"

const day = Partition.makeUnsafe("2024-01-01")
const range = Partition.range(day)
const minute = 60_000
const all: ReadonlyArray<Variable> = ["wind_speed", "power", "ambient_temperature"] as Array<Variable>

/**
 * A healthy day of minutes: wind between 6 and 14 m/s that never repeats a value, power from the
 * default curve with a little noise, a temperature cycle. `change(minute, variable, value)` injects
 * a fault (NaN removes a value).
 */
const dayOf = (change: (m: number, variable: string, value: number) => number = (_m, _v, value) => value) => {
  const n = 1440
  const timestamps = Float64Array.from({ length: n }, (_, m) => range.start + m * minute)
  const column = (variable: string, value: (m: number) => number) =>
    Float64Array.from({ length: n }, (_, m) => change(m, variable, value(m)))
  const wind = (m: number) => 10 + 4 * Math.sin(m / 90) + ((m * 7919) % 1000) / 100_000
  return SampleFrame.make(timestamps, {
    wind_speed: column("wind_speed", wind),
    power: column(
      "power",
      (m) => Quality.expectedPower(Quality.defaultPowerCurve, wind(m)) * (0.98 + ((m * 31) % 40) / 1000)
    ),
    ambient_temperature: column("ambient_temperature", (m) => 15 + 5 * Math.sin(m / 229) + ((m * 13) % 100) / 10_000)
  })
}

const findingsOf = (
  frame: SampleFrame.SampleFrame,
  options: Quality.QualityOptions = {},
  duplicates = 0,
  outside = 0
) =>
  Quality.run(Quality.defaults(options), {
    partition: day,
    range,
    cadence: minute,
    samples: frame,
    duplicates,
    outside
  })

const finding = (findings: ReadonlyArray<Quality.Finding>, check: string, variable: string) =>
  findings.find((entry) => entry.check === check && entry.variable === variable)!

/** The findings that are not `ok`, as `check variable severity`. */
const flagged = (findings: ReadonlyArray<Quality.Finding>) =>
  findings
    .filter((entry) => entry.severity !== "ok")
    .map((entry) => `${entry.check} ${entry.variable} ${entry.severity}`)

describe("Quality, the default checks", () => {
  it("finds nothing wrong with a healthy day, and says so for each check and variable", () => {
    const findings = findingsOf(dayOf())
    expect(flagged(findings)).toEqual([])
    expect(findings.map((entry) => `${entry.check} ${entry.variable}`)).toEqual([
      ...["coverage", "longest_gap", "frozen", "out_of_range"].flatMap((check) =>
        all.map((variable) => `${check} ${variable}`)
      ),
      "duplicates *",
      "outside *",
      "underperformance power"
    ])
    expect(finding(findings, "coverage", "power")).toMatchObject({
      value: 1,
      reason: "1,440 of 1,440 samples (100.0%)"
    })
  })

  it("a frozen anemometer: 2 h of one wind speed is an error, found at its start; 20 min is not", () => {
    const frozen = findingsOf(
      dayOf((m, variable, value) => (variable === "wind_speed" && m >= 600 && m < 720 ? 7.25 : value))
    )
    expect(finding(frozen, "frozen", "wind_speed")).toMatchObject({
      value: 120,
      severity: "error",
      reason: "longest run of one value: 2.0 h at 7.25 from 10:00"
    })
    const brief = findingsOf(
      dayOf((m, variable, value) => (variable === "wind_speed" && m >= 600 && m < 620 ? 7.25 : value))
    )
    expect(finding(brief, "frozen", "wind_speed").severity).toBe("ok")
    expect(finding(brief, "frozen", "wind_speed").value).toBe(20)
  })

  it("power standing at 0 for hours is a turbine below cut-in, not a frozen sensor", () => {
    const calm = findingsOf(
      dayOf((m, variable, value) =>
        m < 360 ? (variable === "wind_speed" ? 1 + (m % 50) / 100 : variable === "power" ? 0 : value) : value
      )
    )
    expect(finding(calm, "frozen", "power").severity).toBe("ok")
    expect(finding(calm, "underperformance", "power").severity).toBe("ok")
  })

  it("four hours of downtime: the longest gap is an error, coverage warns, both at the right place", () => {
    const down = findingsOf(dayOf((m, _variable, value) => (m >= 480 && m < 720 ? Number.NaN : value)))
    for (const variable of all) {
      expect(finding(down, "longest_gap", variable)).toMatchObject({
        value: 240,
        severity: "error",
        reason: "4.0 h without a value from 08:00"
      })
      expect(finding(down, "coverage", variable)).toMatchObject({ value: 1200 / 1440, severity: "warn" })
    }
    // A gap at the start or the end of the day counts from midnight.
    const lateStart = findingsOf(dayOf((m, _variable, value) => (m < 45 ? Number.NaN : value)))
    expect(finding(lateStart, "longest_gap", "power")).toMatchObject({ value: 45, severity: "warn" })
  })

  it("values out of physical range are errors, with the bounds and what was seen; the bounds can be changed", () => {
    const spikes = findingsOf(dayOf((m, variable, value) => (variable === "wind_speed" && m % 100 === 0 ? 75 : value)))
    expect(finding(spikes, "out_of_range", "wind_speed")).toMatchObject({ value: 15, severity: "error" })
    expect(finding(spikes, "out_of_range", "wind_speed").reason).toMatch(/^15 outside 0 to 50 \(seen [\d.]+ to 75\)$/)
    const wider = findingsOf(
      dayOf((m, variable, value) => (variable === "wind_speed" && m % 100 === 0 ? 75 : value)),
      {
        limits: { wind_speed: { min: 0, max: 80 } }
      }
    )
    expect(finding(wider, "out_of_range", "wind_speed").severity).toBe("ok")
    // Power is bounded by the turbine's rating: 120% of a 2 MW one is 2,400 kW.
    const small = findingsOf(dayOf(), { powerCurve: { ...Quality.defaultPowerCurve, ratedPower: 2000 } })
    expect(finding(small, "out_of_range", "power").severity).toBe("error")
  })

  it("curtailment, power held at half the curve for 3 hours while the wind blows, is underperformance", () => {
    const curtailed = findingsOf(
      dayOf((m, variable, value) => (variable === "power" && m >= 600 && m < 780 ? value * 0.5 : value))
    )
    expect(finding(curtailed, "underperformance", "power")).toMatchObject({
      value: 180,
      severity: "error",
      reason: "power under 80% of the curve for 3.0 h from 10:00"
    })
    expect(flagged(curtailed)).toEqual(["underperformance power error"])
  })

  it("duplicates and samples outside the partition are counted for the partition as a whole", () => {
    const findings = findingsOf(dayOf(), {}, 3, 2)
    expect(finding(findings, "duplicates", "*")).toMatchObject({ value: 3, severity: "warn" })
    expect(finding(findings, "outside", "*")).toMatchObject({ value: 2, severity: "warn" })
  })
})

describe("coverage, the window statistic", () => {
  it("is valid samples over what the window should have, a clipped last window included", () => {
    const frame = dayOf((m, _variable, value) => (m >= 10 && m < 15 ? Number.NaN : value))
    const windows = Resample.resample(frame, { range, variables: defaultVariables, statistics: ["count", "coverage"] })
    expect(windows.columns.power!.coverage![0]).toBe(1)
    expect(windows.columns.power!.coverage![1]).toBe(0.5)
    // Windows of 7 minutes: the day's last (1440 = 205 × 7 + 5) has 5 minutes, all there: coverage 1.
    const sevens = Resample.resample(frame, {
      range,
      variables: defaultVariables,
      every: 420_000 as never,
      statistics: ["coverage"]
    })
    expect(sevens.columns.power!.coverage!.at(-1)).toBe(1)
    // The second (minutes 7 to 13) lost 10 to 13: 3 of 7 are there.
    expect(sevens.columns.power!.coverage![1]).toBe(3 / 7)
  })
})

const faulty = dayOf((m, variable, value) =>
  variable === "wind_speed" && m >= 600 && m < 720 ? 7.25 : m < 360 ? Number.NaN : value
)

describe("Pipeline and quality", () => {
  it.effect("every loaded partition reports its findings, the ledger keeps them, states show the worst", () =>
    Effect.gen(function* () {
      const report = yield* Pipeline.runRecorded(day, { name: "q" })
      expect(report.status).toBe("succeeded")
      // The default variables: wind speed and power.
      expect(flagged(report.quality!)).toEqual([
        "coverage wind_speed warn",
        "coverage power warn",
        "longest_gap wind_speed error",
        "longest_gap power error",
        "frozen wind_speed error"
      ])
      const stored = yield* (yield* Ledger).quality("q")
      expect(stored.map((entry) => [entry.day, entry.findings.length])).toEqual([
        ["2024-01-01", report.quality!.length]
      ])
      const [state] = yield* Partitions.states("q", [day])
      expect(state!.quality).toBe("error")
    }).pipe(Effect.provide(Layer.mergeAll(MemorySource.layer(faulty), MemorySink.layer(), MemoryLedger.layer())))
  )

  it.effect("the same findings whatever the order the samples come in", () =>
    Effect.gen(function* () {
      const order = Array.from({ length: faulty.length }, (_, i) => (i * 7919) % faulty.length)
      const shuffled = SampleFrame.make(
        Float64Array.from(order, (i) => faulty.timestamps[i]!),
        Object.fromEntries(
          Object.entries(faulty.columns).map(([name, column]) => [name, Float64Array.from(order, (i) => column[i]!)])
        )
      )
      const inOrder = yield* Pipeline.run(day, { variables: all }).pipe(
        Effect.provide(Layer.merge(MemorySource.layer(faulty), MemorySink.layer()))
      )
      const unordered = yield* Pipeline.run(day, { variables: all }).pipe(
        Effect.provide(Layer.merge(MemorySource.layer(shuffled, { chunkSize: 97 }), MemorySink.layer()))
      )
      expect(unordered.quality).toEqual(inOrder.quality)
    })
  )

  it.effect("a check of one's own runs beside the defaults, no pipeline change", () =>
    Effect.gen(function* () {
      const hot = Quality.perVariable(
        "too_hot",
        (series) => {
          let hottest = Number.NEGATIVE_INFINITY
          for (const value of series.values) if (value > hottest) hottest = value
          return { value: hottest, severity: hottest > 19 ? "warn" : "ok", reason: `hottest ${hottest.toFixed(1)} °C` }
        },
        ["ambient_temperature"]
      )
      const report = yield* Pipeline.run(day, { variables: all, quality: { checks: [...Quality.defaults(), hot] } })
      expect(report.quality!.filter((entry) => entry.check === "too_hot")).toEqual([
        {
          check: "too_hot",
          variable: "ambient_temperature",
          value: expect.any(Number),
          severity: "warn",
          reason: expect.stringMatching(/^hottest 20\.0 °C$/)
        }
      ])
    }).pipe(Effect.provide(Layer.merge(MemorySource.layer(dayOf()), MemorySink.layer())))
  )

  it.effect(
    "minCoverage flags a partition below it as degraded and loads it; strict refuses it and keeps the old rows",
    () =>
      Effect.gen(function* () {
        const memory = yield* MemorySink.MemorySink
        const complete = yield* Pipeline.run(day, { quality: { minCoverage: 0.8 } }).pipe(
          Effect.provide(MemorySource.layer(dayOf()))
        )
        expect(complete.status).toBe("succeeded")
        const before = yield* memory.rows
        const strict = yield* Pipeline.runReporting(day, { quality: { minCoverage: 0.8, strict: true } }).pipe(
          Effect.provide(MemorySource.layer(faulty))
        )
        expect(strict.status).toBe("failed")
        expect(strict.error).toEqual({
          tag: "QualityPolicy",
          message: "coverage 75.0% below the minimum 80.0% (strict): not loaded, previous rows kept"
        })
        expect(yield* memory.rows).toEqual(before)
        const degraded = yield* Pipeline.run(day, { quality: { minCoverage: 0.8 } }).pipe(
          Effect.provide(MemorySource.layer(faulty))
        )
        expect(degraded.status).toBe("degraded")
        expect(degraded.rowsDeleted).toBeGreaterThan(0)
        expect(yield* memory.rows).not.toEqual(before)
      }).pipe(Effect.provide(MemorySink.layer()))
  )

  it.effect("quality: false runs no check", () =>
    Effect.gen(function* () {
      const report = yield* Pipeline.run(day, { quality: false })
      expect(report.quality).toBeUndefined()
    }).pipe(Effect.provide(Layer.merge(MemorySource.layer(faulty), MemorySink.layer())))
  )
})
