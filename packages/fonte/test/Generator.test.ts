import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import * as Generator from "../src/Generator.ts"

const start = Date.UTC(2024, 0, 1)
const day = 86_400_000

describe("Generator", () => {
  it("is deterministic for a seed, and a day does not depend on the range it was generated in", () => {
    const a = Generator.generate({ start, days: 3, seed: 7 })
    const b = Generator.generate({ start, days: 3, seed: 7 })
    expect([...a.columns.wind_speed!]).toEqual([...b.columns.wind_speed!])
    const secondDay = Generator.generate({ start: start + 86_400_000, days: 1, seed: 7 })
    expect([...secondDay.columns.power!]).toEqual([...a.columns.power!.subarray(1440, 2880)])
    const other = Generator.generate({ start, days: 1, seed: 8 })
    expect([...other.columns.wind_speed!]).not.toEqual([...a.columns.wind_speed!.subarray(0, 1440)])
  })

  it("makes one sample a minute with realistic values and a few missing", () => {
    const frame = Generator.generate({ start, days: 30, seed: 1 })
    expect(frame.length).toBe(30 * 1440)
    expect(frame.timestamps[1]! - frame.timestamps[0]!).toBe(60_000)
    const valid = (column: Float64Array) => [...column].filter((x) => !Number.isNaN(x))
    const wind = valid(frame.columns.wind_speed!)
    const power = valid(frame.columns.power!)
    const temperature = valid(frame.columns.ambient_temperature!)
    expect(Math.min(...wind)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...wind)).toBeLessThan(40)
    expect(Math.min(...power)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...power)).toBeLessThanOrEqual(Generator.turbine.ratedPower * 1.03)
    expect(Math.min(...temperature)).toBeGreaterThan(-10)
    expect(Math.max(...temperature)).toBeLessThan(45)
    const missing = frame.length - power.length
    expect(missing).toBeGreaterThan(0)
    expect(missing / frame.length).toBeLessThan(0.01)
    // The mean wind over a month is that of a typical site, not of uniform noise over [0, 25].
    const meanWind = wind.reduce((a, b) => a + b, 0) / wind.length
    expect(meanWind).toBeGreaterThan(4)
    expect(meanWind).toBeLessThan(14)
  })

  it("follows the power curve: nothing below cut-in or from cut-out, rated power between rated and cut-out", () => {
    expect(Generator.powerCurve(2.9)).toBe(0)
    expect(Generator.powerCurve(25)).toBe(0)
    expect(Generator.powerCurve(12)).toBe(5000)
    expect(Generator.powerCurve(20)).toBe(5000)
    expect(Generator.powerCurve(7.5)).toBeCloseTo(5000 * 0.125, 9)
    const frame = Generator.generate({ start, days: 5, seed: 3 })
    for (let i = 0; i < frame.length; i++) {
      const v = frame.columns.wind_speed![i]!
      const p = frame.columns.power![i]!
      if (Number.isNaN(v) || Number.isNaN(p)) continue
      if (v < Generator.turbine.cutIn - 0.01) expect(p).toBe(0)
    }
  })
})

// The single-turbine generator's output before the farm existed (30 days from 2024-01-01): the
// SHA-256 of each column's bytes. WTG01 must stay exactly this, whatever the farm's size.
const before: Record<number, [string, string, string]> = {
  42: [
    "26fe87691d5997939e6b3ca4fe45fb6934556b59fd7f79b81a96d66a0166d91d",
    "a6bc9f043b929cf6d76feb15d7946b8fe40891bff39d4233a55b31d9b378e814",
    "0f3402446ae7bd9aacac943908a3b061dcf7fcae5db592980be8e2e43fa31a88"
  ],
  7: [
    "6b56cb09e8a3fc978043257ae91f71bec44eb6cb7e6571004fd9470bbd7fc253",
    "07007b335cc9681d2a2c6751adfec7febdc88e49c43b177c73fff23b914a7074",
    "59224a9c38a994f55cb86c3920955cc8a5434707473844e3ad1f22fe7cc4098b"
  ],
  1: [
    "289279042c88b82a5491f8dae01f6944eab2c94c723e1384fcd5df4205daf3df",
    "ac889a784469e89e6bafeaff262c8318a2fda6a6498b2ed1491a8b68a9048900",
    "66655fbe28ae11f01652fa6c454c0d9a880c3d9537c0f16a4cc71060deeac888"
  ]
}

const sha256 = (values: Float64Array) =>
  createHash("sha256")
    .update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength))
    .digest("hex")

/** Turbine `n`'s days `[first, first + count)` of a farm, one frame per day. */
const days = (farm: Generator.Farm, n: number, first: number, count: number) =>
  Array.from({ length: count }, (_, d) => ({ dayStart: first + d * day, frame: farm.turbineDay(n, first + d * day) }))

const mean = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0) / values.length

/** Pearson's correlation of two series, over the minutes both have. */
const correlation = (a: Float64Array, b: Float64Array) => {
  const xs: Array<number> = []
  const ys: Array<number> = []
  for (let i = 0; i < a.length; i++) {
    if (!Number.isNaN(a[i]!) && !Number.isNaN(b[i]!)) {
      xs.push(a[i]!)
      ys.push(b[i]!)
    }
  }
  const mx = mean(xs)
  const my = mean(ys)
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my)
    sxx += (xs[i]! - mx) ** 2
    syy += (ys[i]! - my) ** 2
  }
  return sxy / Math.sqrt(sxx * syy)
}

/** The longest run of equal, present values. */
const longestFlatRun = (values: Float64Array) => {
  let longest = 0
  let run = 0
  for (let i = 0; i < values.length; i++) {
    run = i > 0 && !Number.isNaN(values[i]!) && values[i] === values[i - 1] ? run + 1 : 1
    longest = Math.max(longest, run)
  }
  return longest
}

describe("Generator: the farm", () => {
  it("keeps WTG01 exactly the single-turbine series for a seed, in any farm", () => {
    for (const [seed, [wind, power, temperature]] of Object.entries(before)) {
      const frame = Generator.generate({ start, days: 30, seed: Number(seed) })
      expect([sha256(frame.columns.wind_speed!), sha256(frame.columns.power!)]).toEqual([wind, power])
      expect(sha256(frame.columns.ambient_temperature!)).toBe(temperature)
      const inFarm = Generator.farm(Number(seed))
      expect(inFarm.turbineDay(1, start + 3 * day).columns.power).toEqual(
        frame.columns.power!.subarray(3 * 1440, 4 * 1440)
      )
    }
  })

  it("names and places its turbines: WTG01…WTG99, WTG100…, columns of 5 from west to east", () => {
    expect([1, 9, 10, 99, 100, 1000].map(Generator.turbineId)).toEqual([
      "WTG01",
      "WTG09",
      "WTG10",
      "WTG99",
      "WTG100",
      "WTG1000"
    ])
    const farm = Generator.turbines(7)
    expect(farm.map((t) => [t.turbineId, t.x, t.y])).toEqual([
      ["WTG01", 0, 0],
      ["WTG02", 0, 504],
      ["WTG03", 0, 1008],
      ["WTG04", 0, 1512],
      ["WTG05", 0, 2016],
      ["WTG06", 882, 0],
      ["WTG07", 882, 504]
    ])
    expect(new Set(farm.map((t) => t.ratedPower))).toEqual(new Set([5000]))
  })

  it("gives a turbine's day from the seed, the turbine and the day alone", () => {
    const a = Generator.farm(11)
    const b = Generator.farm(11)
    const third = start + 2 * day
    // Asked alone, after other turbines, or within a longer range: the same samples.
    b.turbineDay(5, third)
    b.turbineDay(40, start)
    expect(a.turbineDay(17, third)).toEqual(b.turbineDay(17, third))
    const range = Generator.generate({ start, days: 4, seed: 11, turbine: 17 })
    const alone = a.turbineDay(17, third)
    const at = range.timestamps.indexOf(third)
    expect(range.columns.wind_speed!.subarray(at, at + alone.length)).toEqual(alone.columns.wind_speed)
    expect(Generator.farm(12).turbineDay(17, third)).not.toEqual(alone)
  })

  it("blows one wind over the farm: every turbine's wind follows WTG01's", () => {
    const farm = Generator.farm(5)
    const reference = days(farm, 1, start, 30).map(({ frame }) => frame)
    for (const n of [2, 6, 13, 27, 50]) {
      for (const [d, { frame }] of days(farm, n, start, 30).entries()) {
        if (frame.length !== 1440) continue // a downtime: not aligned minute by minute
        const r = correlation(reference[d]!.columns.wind_speed!, frame.columns.wind_speed!)
        // Within a day the shared daily pattern and gusts dominate the turbine's own turbulence.
        expect(r).toBeGreaterThan(0.8)
      }
    }
  })

  it("shows wake losses: on average the columns behind the first see less wind", () => {
    // 50 turbines (10 columns) for 60 days: the mean wind of each column, against the first's.
    const farm = Generator.farm(3)
    const columnMeans = Array.from({ length: 10 }, (_, c) => {
      const speeds: Array<number> = []
      for (let n = c * 5 + 1; n <= c * 5 + 5; n++) {
        for (const { frame } of days(farm, n, start, 60)) {
          for (const v of frame.columns.wind_speed!) if (!Number.isNaN(v)) speeds.push(v)
        }
      }
      return mean(speeds)
    })
    const front = columnMeans[0]!
    const back = mean(columnMeans.slice(5))
    expect(back / front).toBeLessThan(0.97)
    expect(back / front).toBeGreaterThan(0.8)
    // The wakes come from the west: wind straight from there costs the second column most.
    expect(Generator.wakeFactor(6, 270)).toBeLessThan(0.9)
    expect(Generator.wakeFactor(6, 225)).toBeGreaterThan(0.99)
    expect(Generator.wakeFactor(3, 270)).toBe(1)
  })
})

describe("Generator: faults", () => {
  const kinds = ["curtailment", "downtime", "stuck_wind_sensor"]

  it("puts one of each kind in any 3 days of a 10-turbine farm, whatever the seed and the start", () => {
    for (const seed of [1, 42, 7, 2024]) {
      for (let shift = 0; shift < 5; shift++) {
        const found = Generator.faults({ seed, turbines: 10, start: start + shift * day, days: 3 })
        expect(new Set(found.map((fault) => fault.kind))).toEqual(new Set(kinds))
      }
    }
    // The reference turbine never has one; a farm of one has none.
    expect(Generator.faults({ seed: 42, turbines: 1, start, days: 365 })).toEqual([])
  })

  it("has a few faults per turbine-year, besides the three problem turbines", () => {
    const year = Generator.faults({ seed: 42, turbines: 100, start: Date.UTC(2023, 0, 1), days: 365 })
    const problem = year.filter((fault) => ["WTG03", "WTG06", "WTG09"].includes(fault.turbine))
    expect(problem.length).toBeGreaterThanOrEqual(3 * 121)
    const others = (year.length - problem.length) / 96
    expect(others).toBeGreaterThan(3)
    expect(others).toBeLessThan(20)
    for (const kind of kinds) expect(year.filter((fault) => fault.kind === kind).length).toBeGreaterThan(100)
  })

  it("plants each fault where faults() says, and every other turbine-day looks healthy", () => {
    const seed = 42
    const first = Date.UTC(2024, 2, 1)
    const farm = Generator.farm(seed)
    const planted = Generator.faults({ seed, turbines: 20, start: first, days: 30 })
    expect(planted.length).toBeGreaterThan(30)
    let healthy = 0
    for (let n = 1; n <= 20; n++) {
      for (const { dayStart, frame } of days(farm, n, first, 30)) {
        const wind = frame.columns.wind_speed!
        const power = frame.columns.power!
        const temperature = frame.columns.ambient_temperature!
        const at = (t: number) => frame.timestamps.indexOf(t)
        const fault = planted.find(
          (f) => f.turbine === Generator.turbineId(n) && f.from >= dayStart && f.from < dayStart + day
        )
        // Nothing out of range, on any day.
        let outOfRange = 0
        for (let i = 0; i < frame.length; i++) {
          if (wind[i]! < 0 || wind[i]! >= 40) outOfRange++
          if (power[i]! < 0 || power[i]! > 5000 * 1.03) outOfRange++
          if (temperature[i]! <= -20 || temperature[i]! >= 50) outOfRange++
        }
        expect(outOfRange).toBe(0)
        if (fault === undefined) {
          healthy++
          // Every minute there, few values missing, no frozen anemometer.
          expect(frame.length).toBe(1440)
          expect(frame.timestamps[1439]! - frame.timestamps[0]!).toBe(1439 * 60_000)
          expect([...power].filter(Number.isNaN).length).toBeLessThan(30)
          expect(longestFlatRun(wind)).toBeLessThan(60)
          continue
        }
        const from = at(fault.from)
        const minutes = (fault.to - fault.from) / 60_000
        expect(minutes).toBeGreaterThanOrEqual(120)
        switch (fault.kind) {
          case "stuck_wind_sensor": {
            const stuck = wind.subarray(from, from + minutes)
            expect(new Set(stuck)).toEqual(new Set([fault.value]))
            expect(longestFlatRun(wind)).toBeGreaterThanOrEqual(minutes)
            // The turbine goes on making what the real wind gives.
            const made = [...power.subarray(from, from + minutes)].filter((p) => !Number.isNaN(p))
            expect(new Set(made).size).toBeGreaterThan(minutes / 4)
            break
          }
          case "curtailment": {
            const cap = fault.value!
            expect(cap).toBeGreaterThan(0)
            expect(cap).toBeLessThanOrEqual(0.6 * 5000)
            const capped = [...power.subarray(from, from + minutes)].filter((p) => !Number.isNaN(p))
            expect(Math.max(...capped)).toBeLessThanOrEqual(cap)
            // Flat at the cap, while the power curve says the wind gave more.
            const atCap = capped.filter((p) => p === cap).length
            expect(atCap / capped.length).toBeGreaterThan(0.4)
            const gave = [...wind.subarray(from, from + minutes)].filter((v) => Generator.powerCurve(v) * 0.95 > cap)
            expect(gave.length / minutes).toBeGreaterThan(0.4)
            expect(longestFlatRun(wind)).toBeLessThan(60)
            break
          }
          case "downtime": {
            expect(frame.length).toBe(1440 - minutes)
            expect(from).toBe(-1)
            const before = at(fault.from - 60_000)
            const after = at(fault.to)
            expect(before).toBeGreaterThan(0)
            expect(after).toBe(before + 1)
            const shoulders = [
              ...power.subarray(before - Generator.downtimeShoulder + 1, before + 1),
              ...power.subarray(after, after + Generator.downtimeShoulder)
            ].filter((p) => !Number.isNaN(p))
            expect(new Set(shoulders)).toEqual(new Set([0]))
            expect(longestFlatRun(wind)).toBeLessThan(60)
            break
          }
        }
      }
    }
    expect(healthy).toBeGreaterThan(500)
  })
})
