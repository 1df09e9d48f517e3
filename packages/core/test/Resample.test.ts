import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import * as Partition from "../src/Partition.ts"
import * as Resample from "../src/Resample.ts"
import * as SampleFrame from "../src/SampleFrame.ts"
import { type Statistic, statistics, type Variable } from "../src/Signal.ts"
import * as TidyRows from "../src/TidyRows.ts"
import * as Unpivot from "../src/Unpivot.ts"
import * as Window from "../src/Window.ts"
import * as ExactStatistics from "./ExactStatistics.ts"

const variables = ["wind_speed", "power"] as Array<Variable>
const allStatistics: ReadonlyArray<Statistic> = statistics

interface Case {
  readonly partition: Partition.Partition
  readonly every: Window.WindowLength
  readonly timestamps: Array<number>
  readonly columns: Array<Array<number | null>>
}

type Row = { timestamp: number; signal: string; value: number }

/**
 * The windows of a case, plainly: the valid in-partition values of each variable, bucketed by
 * window, each bucket's statistics by `statisticsOf`, one row per statistic that is a finite number,
 * sorted by timestamp then signal.
 */
const reference = (
  c: Case,
  statisticsOf: (xs: ReadonlyArray<number>) => Record<Statistic, number> & { readonly meanMagnitude?: number }
): Array<Row & { scale: number }> => {
  const range = Partition.range(c.partition)
  const rows: Array<Row & { scale: number }> = []
  const buckets = new Map<string, Array<number>>()
  c.timestamps.forEach((t, i) => {
    if (t < range.start || t >= range.end) return
    const window = Math.floor((t - range.start) / c.every)
    variables.forEach((variable, v) => {
      const x = c.columns[v]![i]
      if (x === null || x === undefined) return
      const key = `${window}|${variable}`
      buckets.set(key, [...(buckets.get(key) ?? []), x])
    })
  })
  for (const [key, xs] of buckets) {
    const [window, variable] = key.split("|") as [string, string]
    const timestamp = range.start + Number(window) * c.every
    const stats = statisticsOf(xs)
    const scale = stats.meanMagnitude ?? Math.abs(stats.mean)
    for (const statistic of allStatistics) {
      if (Number.isFinite(stats[statistic]))
        rows.push({ timestamp, signal: `${variable}_${statistic}`, value: stats[statistic], scale })
    }
  }
  return rows.sort((a, b) => a.timestamp - b.timestamp || (a.signal < b.signal ? -1 : 1))
}

/** Two passes: mean = sum / n, then std = sqrt(sum((x - mean)^2) / (n - 1)). Exact for the multiples of 1/1024 below. */
const twoPass = (xs: ReadonlyArray<number>): Record<Statistic, number> => {
  const n = xs.length
  const mean = xs.reduce((a, b) => a + b, 0) / n
  return {
    count: n,
    mean,
    min: Math.min(...xs),
    max: Math.max(...xs),
    std: n < 2 ? Number.NaN : Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1))
  }
}

const naive = (c: Case) => reference(c, twoPass)

/** Exact rational arithmetic, each statistic rounded once: right for any finite doubles. */
const exact = (c: Case) => reference(c, ExactStatistics.statistics)

const frameOf = (c: Case, order: ReadonlyArray<number> = c.timestamps.map((_, i) => i)) =>
  SampleFrame.make(
    Float64Array.from(order, (i) => c.timestamps[i]!),
    Object.fromEntries(
      variables.map((variable, v) => [variable, Float64Array.from(order, (i) => c.columns[v]![i] ?? Number.NaN)])
    )
  )

const ours = (c: Case, frames: ReadonlyArray<SampleFrame.SampleFrame>) => {
  const windows = Resample.resample(frames, {
    range: Partition.range(c.partition),
    variables,
    statistics: allStatistics,
    every: c.every
  })
  const rows = Unpivot.unpivot(windows)
  return {
    windows,
    rows: Array.from({ length: rows.length }, (_, i) => ({
      timestamp: rows.timestamps[i]!,
      signal: TidyRows.signalAt(rows, i) as string,
      value: rows.values[i]!
    }))
  }
}

const zones = ["UTC", "Europe/Berlin", "America/Sao_Paulo", "Asia/Kolkata", "Australia/Lord_Howe"]
const days = ["2024-01-01", "2024-03-31", "2024-10-27", "2018-11-04", "2024-04-07", "2024-10-06"]
const lengths = [60_000, 90_000, 420_000, 600_000, 3_600_000]

// Values that are multiples of 1/1024 below 1e6 in magnitude: exact sums, so the plain reference is exact too.
const value = fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }).map((n) => n / 1024)

/** Cases of a partition and its samples (some outside it, some duplicated), with values drawn from `value`. */
const casesOf = (value: fc.Arbitrary<number>): fc.Arbitrary<Case> =>
  fc
    .record({
      day: fc.constantFrom(...days),
      timeZone: fc.constantFrom(...zones),
      every: fc.constantFrom(...lengths),
      samples: fc.array(
        fc.record({
          // From two hours before the day to two hours after, to the millisecond.
          offset: fc.integer({ min: -7_200_000, max: 93_600_000 }),
          minuteAligned: fc.boolean(),
          values: fc.tuple(fc.option(value, { freq: 4 }), fc.option(value, { freq: 4 }))
        }),
        { maxLength: 400 }
      ),
      duplicateEvery: fc.integer({ min: 2, max: 9 })
    })
    .map(({ day, duplicateEvery, every, samples, timeZone }) => {
      const partition = Partition.makeUnsafe(day, timeZone)
      const { start } = Partition.range(partition)
      const timestamps: Array<number> = []
      const columns: Array<Array<number | null>> = [[], []]
      samples.forEach((sample, i) => {
        const offset = sample.minuteAligned ? Math.floor(sample.offset / 60_000) * 60_000 : sample.offset
        // Every few samples, repeat the previous timestamp: a duplicate.
        const t = i > 0 && i % duplicateEvery === 0 ? timestamps[i - 1]! : start + offset
        timestamps.push(t)
        columns[0]!.push(sample.values[0])
        columns[1]!.push(sample.values[1])
      })
      return { partition, every: Window.WindowLength.make(every), timestamps, columns }
    })

const caseArbitrary = casesOf(value)

const close = (actual: number, expected: number, tolerance: number) =>
  Math.abs(actual - expected) <= tolerance * Math.max(Math.abs(expected), Number.MIN_VALUE)

const expectSameRows = (
  actual: ReadonlyArray<{ timestamp: number; signal: string; value: number }>,
  expected: ReadonlyArray<{ timestamp: number; signal: string; value: number }>,
  tolerance: number
) => {
  expect(actual.map((row) => `${row.timestamp} ${row.signal}`)).toEqual(
    expected.map((row) => `${row.timestamp} ${row.signal}`)
  )
  actual.forEach((row, i) => {
    const reference = expected[i]!.value
    if (row.signal.endsWith("_mean") || row.signal.endsWith("_std")) {
      expect(
        close(row.value, reference, tolerance),
        `${row.signal} at ${row.timestamp}: ${row.value} vs ${reference}`
      ).toBe(true)
    } else {
      expect(row.value).toBe(reference)
    }
  })
}

const shuffled = (length: number, seed: number) => {
  const order = Array.from({ length }, (_, i) => i)
  let state = seed >>> 0 || 1
  for (let i = length - 1; i > 0; i--) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
    const j = state % (i + 1)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}

describe("Resample + Unpivot, property-based", () => {
  it("agree with a plain two-pass reference", () => {
    fc.assert(
      fc.property(caseArbitrary, (c) => {
        expectSameRows(ours(c, [frameOf(c)]).rows, naive(c), 1e-9)
      }),
      { numRuns: 300 }
    )
  })

  it("min <= mean <= max, std >= 0, and counts add up to the valid samples in the day", () => {
    fc.assert(
      fc.property(caseArbitrary, (c) => {
        const { windows } = ours(c, [frameOf(c)])
        const range = Partition.range(c.partition)
        variables.forEach((variable, v) => {
          const column = windows.columns[variable]!
          let total = 0
          for (let w = 0; w < windows.grid.count; w++) {
            total += column.count[w]!
            if (column.count[w] === 0) continue
            expect(column.min[w]!).toBeLessThanOrEqual(column.mean[w]!)
            expect(column.mean[w]!).toBeLessThanOrEqual(column.max[w]!)
            if (column.count[w]! >= 2) expect(column.std[w]!).toBeGreaterThanOrEqual(0)
            else expect(column.std[w]).toBeNaN()
          }
          const valid = c.timestamps.filter((t, i) => t >= range.start && t < range.end && c.columns[v]![i] !== null)
          expect(total).toBe(valid.length)
        })
      }),
      { numRuns: 300 }
    )
  })

  it("do not depend on the order of the input", () => {
    fc.assert(
      fc.property(caseArbitrary, fc.integer(), (c, seed) => {
        const sorted = ours(c, [frameOf(c)])
        const permuted = ours(c, [frameOf(c, shuffled(c.timestamps.length, seed))])
        expectSameRows(permuted.rows, sorted.rows, 1e-12)
        expect(permuted.windows.duplicates).toBe(sorted.windows.duplicates)
      }),
      { numRuns: 200 }
    )
  })

  it("do not depend on how the input is chunked", () => {
    fc.assert(
      fc.property(caseArbitrary, fc.integer({ min: 1, max: 50 }), (c, size) => {
        const whole = ours(c, [frameOf(c)])
        const chunked = ours(c, SampleFrame.chunks(frameOf(c), size))
        expectSameRows(chunked.rows, whole.rows, 0)
        expect(chunked.windows.duplicates).toBe(whole.windows.duplicates)
        expect(chunked.windows.ignored).toBe(whole.windows.ignored)
      }),
      { numRuns: 200 }
    )
  })

  it("count duplicate timestamps in the day, sorted or not", () => {
    fc.assert(
      fc.property(caseArbitrary, fc.integer(), (c, seed) => {
        const range = Partition.range(c.partition)
        const inside = c.timestamps.filter((t) => t >= range.start && t < range.end)
        const expected = inside.length - new Set(inside).size
        expect(ours(c, [frameOf(c)]).windows.duplicates).toBe(expected)
        expect(ours(c, [frameOf(c, shuffled(c.timestamps.length, seed))]).windows.duplicates).toBe(expected)
      }),
      { numRuns: 200 }
    )
  })

  it("give a constant series a std of exactly 0", () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }),
        fc.integer({ min: 2, max: 600 }),
        (x, n) => {
          const partition = Partition.makeUnsafe("2024-01-01")
          const { start } = Partition.range(partition)
          const frame = SampleFrame.make(
            Float64Array.from({ length: n }, (_, i) => start + i * 1000),
            {
              power: new Float64Array(n).fill(x)
            }
          )
          const windows = Resample.resample(frame, {
            range: Partition.range(partition),
            variables: ["power" as Variable]
          })
          const column = windows.columns.power!
          for (let w = 0; w < windows.grid.count; w++) {
            if (column.count[w]! >= 2) {
              expect(column.std[w]).toBe(0)
              expect(column.mean[w]! === x, `mean ${column.mean[w]} of a constant ${x}`).toBe(true)
            }
          }
        }
      )
    )
  })
})

/**
 * Rows against the exact reference: the same rows; count, min and max equal (a zero's sign aside);
 * std within 1e-9 relative; mean within 1e-9 of its scale, the mean of |x| (that is |mean| unless
 * the signs are mixed: a mean near 0 between large values of both signs is only known to the
 * rounding of the values themselves). Results below the smallest normal double are held to two of
 * the smallest steps, which is as fine as a double goes there.
 */
const expectCloseToExact = (actual: ReadonlyArray<Row>, expected: ReadonlyArray<Row & { scale: number }>) => {
  expect(actual.map((row) => `${row.timestamp} ${row.signal}`)).toEqual(
    expected.map((row) => `${row.timestamp} ${row.signal}`)
  )
  actual.forEach((row, i) => {
    const { scale, value } = expected[i]!
    const what = `${row.signal} at ${row.timestamp}: ${row.value} vs exact ${value}`
    const floor = 2 * Number.MIN_VALUE
    if (row.signal.endsWith("_mean")) {
      expect(Math.abs(row.value - value), what).toBeLessThanOrEqual(1e-9 * Math.max(Math.abs(value), scale) + floor)
    } else if (row.signal.endsWith("_std")) {
      expect(Math.abs(row.value - value), what).toBeLessThanOrEqual(1e-9 * value + floor)
    } else {
      expect(row.value === value, what).toBe(true)
    }
  })
}

describe("Resample + Unpivot in the hard regime, against exact rational arithmetic", () => {
  // Each property draws cases as above (any zone, window length, order, duplicates, missing values),
  // with values where floating-point sums go wrong.
  const regimes: ReadonlyArray<readonly [string, fc.Arbitrary<number>]> = [
    [
      "large magnitudes with a tiny spread (±1e9, 4.2e12, 1e15 plus k·1e-3)",
      fc
        .tuple(fc.constantFrom(1e9, -1e9, 4.2e12, 1e15), fc.integer({ min: -5000, max: 5000 }))
        .map(([base, k]) => base + k * 1e-3)
    ],
    [
      "mixed signs and magnitudes, |x| ≤ 1e6 down to the smallest double",
      fc.double({ min: -1e6, max: 1e6, noNaN: true })
    ],
    ["values near 1e-300 and below, to the subnormals", fc.double({ min: -1e-295, max: 1e-295, noNaN: true })],
    [
      "values near 1e300 of both signs (squares overflow)",
      fc.integer({ min: -1_000_000, max: 1_000_000 }).map((k) => k * 1e297)
    ],
    ["any finite double, up to ±1.8e308 (differences overflow)", fc.double({ noNaN: true, noDefaultInfinity: true })]
  ]

  for (const [regime, values] of regimes) {
    it(`${regime}: the exact statistics, rounded once, whatever the order and chunking`, () => {
      // Small chunks often: a window's values then arrive in several chunks.
      const sizes = fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 4, max: 50 }))
      fc.assert(
        fc.property(casesOf(values), fc.integer(), sizes, (c, seed, size) => {
          const expected = exact(c)
          expectCloseToExact(ours(c, [frameOf(c)]).rows, expected)
          expectCloseToExact(ours(c, [frameOf(c, shuffled(c.timestamps.length, seed))]).rows, expected)
          expectCloseToExact(ours(c, SampleFrame.chunks(frameOf(c), size)).rows, expected)
        }),
        { numRuns: 150 }
      )
    })
  }

  it("a window summed scaled stays so for the values of the next chunks", () => {
    const partition = Partition.makeUnsafe("2024-01-01")
    const { start } = Partition.range(partition)
    for (const xs of [
      [1e-300, 2e-300, 9e-300, -4e-300],
      [1e300, 3e300, -2e300, 7e299]
    ]) {
      const c: Case = {
        partition,
        every: Window.defaultWindowLength,
        timestamps: xs.map((_, i) => start + i * 60_000),
        columns: [xs, xs.map(() => null)]
      }
      // One sample per chunk: the window is scaled by the second chunk, and the next ones must follow.
      expectCloseToExact(ours(c, SampleFrame.chunks(frameOf(c), 1)).rows, exact(c))
    }
  })

  it("at the ends of the doubles: a std past the largest has no row; a mean further from the first value than that is right", () => {
    const partition = Partition.makeUnsafe("2024-01-01")
    const { start } = Partition.range(partition)
    const max = Number.MAX_VALUE
    const c: Case = {
      partition,
      every: Window.defaultWindowLength,
      timestamps: [0, 60_000, 600_000, 660_000, 1_200_000, 1_260_000, 1_320_000].map((offset) => start + offset),
      // Window 0: std = max·√2, not a double. Window 1: std = max/√2, mean = max/2. Window 2: the mean
      // (max·7/15) is further from the first value than the largest double.
      columns: [
        [max, -max, max, 0, -0.6 * max, max, max],
        [null, null, null, null, null, null, null]
      ]
    }
    const rows = ours(c, [frameOf(c)]).rows
    expect(rows.map((row) => `${row.timestamp - start} ${row.signal}`)).toEqual([
      "0 wind_speed_count",
      "0 wind_speed_max",
      "0 wind_speed_mean",
      "0 wind_speed_min",
      "600000 wind_speed_count",
      "600000 wind_speed_max",
      "600000 wind_speed_mean",
      "600000 wind_speed_min",
      "600000 wind_speed_std",
      "1200000 wind_speed_count",
      "1200000 wind_speed_max",
      "1200000 wind_speed_mean",
      "1200000 wind_speed_min",
      "1200000 wind_speed_std"
    ])
    expectCloseToExact(rows, exact(c))
  })
})

describe("Resample", () => {
  const partition = Partition.makeUnsafe("2024-01-01")
  const range = Partition.range(partition)
  const power = "power" as Variable

  it("a UTC day has 144 ten-minute windows labelled from midnight", () => {
    const windows = Resample.resample(SampleFrame.empty([power]), { range, variables: [power] })
    expect(windows.grid.count).toBe(144)
    expect(Window.windowStart(windows.grid, 1)).toBe(range.start + 600_000)
  })

  it("keeps 1e-9 relative accuracy where a plain sum of squares loses every digit", () => {
    // Values 1e9 + k * 1e-3: the exact sample std of k = 0..9 scaled by 1e-3 is sqrt(55/6) * 1e-3.
    const xs = Array.from({ length: 10 }, (_, k) => 1e9 + k * 1e-3)
    const frame = SampleFrame.make(
      Float64Array.from(xs, (_, k) => range.start + k * 60_000),
      { power: Float64Array.from(xs) }
    )
    const windows = Resample.resample(frame, { range, variables: [power] })
    // The exact std of the doubles actually stored, from their exact differences to the first.
    const deltas = xs.map((x) => x - xs[0]!)
    const mean = deltas.reduce((a, b) => a + b, 0) / 10
    const exact = Math.sqrt(deltas.reduce((a, d) => a + (d - mean) ** 2, 0) / 9)
    expect(Math.abs(windows.columns.power!.std[0]! - exact) / exact).toBeLessThan(1e-9)
    const sum = xs.reduce((a, b) => a + b, 0)
    const squares = xs.reduce((a, b) => a + b * b, 0)
    const textbook = Math.sqrt(Math.max(0, (squares - (sum * sum) / 10) / 9))
    expect(Math.abs(textbook - exact) / exact).toBeGreaterThan(1e-3)
  })

  it("treats ±Infinity like a missing value", () => {
    const frame = SampleFrame.make(Float64Array.of(range.start, range.start + 1, range.start + 2), {
      power: Float64Array.of(1, Number.POSITIVE_INFINITY, 3)
    })
    const windows = Resample.resample(frame, { range, variables: [power] })
    expect(windows.columns.power!.count[0]).toBe(2)
    expect(windows.columns.power!.max[0]).toBe(3)
  })

  it("a sample exactly at the next midnight belongs to the next day; 23:59:59.5 to this one", () => {
    const frame = SampleFrame.make(Float64Array.of(range.end, range.end - 500), { power: Float64Array.of(1, 2) })
    const windows = Resample.resample(frame, { range, variables: [power], statistics: ["count", "mean"] })
    expect(windows.ignored).toBe(1)
    expect(windows.columns.power!.count[143]).toBe(1)
    expect(windows.columns.power!.mean[143]).toBe(2)
  })

  it("a window length that does not divide the day ends the last window at midnight", () => {
    const every = Window.WindowLength.make(7 * 60_000)
    const frame = SampleFrame.make(Float64Array.of(range.end - 1), { power: Float64Array.of(5) })
    const windows = Resample.resample(frame, { range, variables: [power], every })
    expect(windows.grid.count).toBe(Math.ceil(1440 / 7))
    expect(windows.columns.power!.count[windows.grid.count - 1]).toBe(1)
  })
})
