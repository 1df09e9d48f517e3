import { describe, expect, it } from "@effect/vitest"
import * as Generator from "../src/Generator.ts"

const start = Date.UTC(2024, 0, 1)

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
