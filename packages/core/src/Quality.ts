/**
 * Data quality of a partition: checks over its samples in time order, each finding a value, a
 * severity (`ok`, `warn`, `error`) and a one-line reason, per variable (or `*` for the partition).
 * Pure functions, like `Resample`: the default checks share one pass over each variable.
 *
 * A check is a small interface: give `Pipeline` your own (`checks: [...Quality.defaults(), mine]`)
 * without touching it. The defaults follow what wind analysts use (SaQC's `flagRange`,
 * `flagConstants`, `flagMissing`; OpenOA's range, unresponsive-sensor and power-curve flags).
 */
import * as Schema from "effect/Schema"
import type { PartitionLike, TimeRange } from "./Partition.ts"
import type { SampleFrame } from "./SampleFrame.ts"

export const Severity = Schema.Literals(["ok", "warn", "error"])
export type Severity = typeof Severity.Type

/** One check's verdict on one variable of a partition (or on the partition: variable `*`). */
export const Finding = Schema.Struct({
  check: Schema.String,
  variable: Schema.String,
  value: Schema.Finite,
  severity: Severity,
  reason: Schema.String
})
export type Finding = typeof Finding.Type

/** The variable of a finding about the partition as a whole. */
export const wholePartition = "*"

/** What a check reads: a partition's samples, inside it, in time order. */
export interface Input {
  readonly partition: PartitionLike
  readonly range: TimeRange
  /** The source's sampling interval, milliseconds: what a full partition has one sample per. */
  readonly cadence: number
  /** Every variable, `NaN` where missing; timestamps ascending. */
  readonly samples: SampleFrame
  /** Samples sharing a timestamp with an earlier one. */
  readonly duplicates: number
  /** Samples the source sent outside the partition (ignored). */
  readonly outside: number
}

export interface Check {
  /** Its name in the findings and the target's table: `coverage`, `frozen`, … */
  readonly name: string
  readonly run: (input: Input) => ReadonlyArray<Finding>
}

/** A verdict without the check's and the variable's names. */
export interface Verdict {
  readonly value: number
  readonly severity: Severity
  readonly reason: string
}

/** A check of each variable alone (those of `variables`, or all), from its timestamps and values. */
export const perVariable = (
  name: string,
  judge: (series: {
    readonly variable: string
    readonly timestamps: Float64Array
    readonly values: Float64Array
    readonly range: TimeRange
    readonly cadence: number
  }) => Verdict | undefined,
  variables?: ReadonlyArray<string>
): Check => ({
  name,
  run: (input) =>
    Object.entries(input.samples.columns).flatMap(([variable, values]) => {
      if (variables !== undefined && !variables.includes(variable)) return []
      const verdict = judge({
        variable,
        timestamps: input.samples.timestamps,
        values,
        range: input.range,
        cadence: input.cadence
      })
      return verdict === undefined ? [] : [{ check: name, variable, ...verdict }]
    })
})

/** A value's physical bounds, both included. */
export interface Limits {
  readonly min: number
  readonly max: number
}

/** A turbine's power curve: cubic from cut-in to rated speed, rated power to cut-out, zero outside. */
export interface PowerCurve {
  /** kW. */
  readonly ratedPower: number
  /** m/s. */
  readonly cutIn: number
  readonly ratedSpeed: number
  readonly cutOut: number
}

/** The power (kW) `curve` gives at `speed` (m/s). */
export const expectedPower = (curve: PowerCurve, speed: number): number =>
  speed < curve.cutIn || speed >= curve.cutOut
    ? 0
    : speed >= curve.ratedSpeed
      ? curve.ratedPower
      : curve.ratedPower * cube((speed - curve.cutIn) / (curve.ratedSpeed - curve.cutIn))

const cube = (x: number) => x * x * x

/** A 5 MW turbine: cut-in 3 m/s, rated 12 m/s, cut-out 25 m/s (the reference fonte's). */
export const defaultPowerCurve: PowerCurve = { ratedPower: 5000, cutIn: 3, ratedSpeed: 12, cutOut: 25 }

export interface Thresholds {
  readonly warn: number
  readonly error: number
}

export interface QualityOptions {
  /** The turbines' power curve, for power's range and the power-curve check; a 5 MW turbine by default. */
  readonly powerCurve?: PowerCurve | undefined
  /** Bounds per variable, over the defaults (wind speed 0–50 m/s, temperature −50–60 °C, power −2 % to 120 % of rated). */
  readonly limits?: { readonly [variable: string]: Limits } | undefined
  /** Coverage below which a variable warns or errs; 0.9 and 0.5 by default. */
  readonly coverage?: Thresholds | undefined
  /** Minutes without a valid sample past which a variable warns or errs; 30 and 180 by default. */
  readonly longestGap?: Thresholds | undefined
  /** Minutes of one repeated value past which a sensor is frozen: warns, errs; 30 and 120 by default. */
  readonly frozen?: Thresholds | undefined
  /**
   * Values that may legitimately stay the same (a flat run of them is no frozen sensor), per
   * variable; by default power at or below 0 (a turbine standing still below cut-in).
   */
  readonly constantAllowed?: { readonly [variable: string]: (value: number) => boolean } | undefined
  /** Minutes of power well below the curve for the wind (curtailment, a fault) that warn, err; 60 and 180. */
  readonly underperformance?: Thresholds | undefined
}

const minutes = 60_000

const defaultLimits = (curve: PowerCurve): { readonly [variable: string]: Limits } => ({
  wind_speed: { min: 0, max: 50 },
  ambient_temperature: { min: -50, max: 60 },
  power: { min: -0.02 * curve.ratedPower, max: 1.2 * curve.ratedPower }
})

const severityAbove = (value: number, thresholds: Thresholds): Severity =>
  value >= thresholds.error ? "error" : value >= thresholds.warn ? "warn" : "ok"

const severityBelow = (value: number, thresholds: Thresholds): Severity =>
  value < thresholds.error ? "error" : value < thresholds.warn ? "warn" : "ok"

const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`
// `1,440`: by hand, since `toLocaleString` costs microseconds a call, and reasons are written per partition.
const count = (n: number): string => {
  const digits = String(Math.round(Math.abs(n)))
  let out = ""
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ","
    out += digits[i]
  }
  return n < 0 ? `-${out}` : out
}
const span = (ms: number) =>
  ms >= 60 * minutes ? `${(ms / (60 * minutes)).toFixed(1)} h` : `${Math.round(ms / minutes)} min`
// `14:05`, the UTC time of day.
const clock = (t: number) => {
  const minute = Math.floor((((t % 86_400_000) + 86_400_000) % 86_400_000) / 60_000)
  const hh = Math.floor(minute / 60)
  const mm = minute % 60
  return `${hh < 10 ? "0" : ""}${hh}:${mm < 10 ? "0" : ""}${mm}`
}

/**
 * One pass over a variable: valid samples, the longest stretch without one, the longest run of one
 * repeated value (where `allowed` values break runs), and the values out of `limits`.
 */
export interface Profile {
  readonly valid: number
  readonly longestGap: number
  readonly longestGapFrom: number
  readonly longestRun: number
  readonly longestRunFrom: number
  readonly runValue: number
  readonly outOfRange: number
  readonly lowest: number
  readonly highest: number
}

export const profile = (
  timestamps: Float64Array,
  values: Float64Array,
  range: TimeRange,
  cadence: number,
  limits: Limits | undefined,
  allowed: ((value: number) => boolean) | undefined
): Profile => {
  const low = limits?.min ?? Number.NEGATIVE_INFINITY
  const high = limits?.max ?? Number.POSITIVE_INFINITY
  let valid = 0
  let outOfRange = 0
  let lowest = Number.POSITIVE_INFINITY
  let highest = Number.NEGATIVE_INFINITY
  // The end of the last valid sample's slot: a gap is time from there to the next valid sample.
  let covered = range.start
  let longestGap = 0
  let longestGapFrom = range.start
  let runValue = Number.NaN
  let runFrom = 0
  let runTo = 0
  let longestRun = 0
  let longestRunFrom = range.start
  let longestRunValue = Number.NaN
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!
    if (x - x !== 0) continue
    const t = timestamps[i]!
    valid++
    if (t - covered > longestGap) {
      longestGap = t - covered
      longestGapFrom = covered
    }
    if (t + cadence > covered) covered = t + cadence
    if (x < low || x > high) outOfRange++
    if (x < lowest) lowest = x
    if (x > highest) highest = x
    // A run's value was not an allowed one when it started (else it is NaN and equals nothing):
    // the predicate is asked only when the value changes.
    if (x === runValue) {
      runTo = t
      if (runTo - runFrom + cadence > longestRun) {
        longestRun = runTo - runFrom + cadence
        longestRunFrom = runFrom
        longestRunValue = runValue
      }
    } else {
      runValue = allowed?.(x) ? Number.NaN : x
      runFrom = t
      runTo = t
      if (!Number.isNaN(runValue) && cadence > longestRun) {
        longestRun = cadence
        longestRunFrom = t
        longestRunValue = runValue
      }
    }
  }
  if (range.end - covered > longestGap) {
    longestGap = range.end - covered
    longestGapFrom = covered
  }
  return {
    valid,
    longestGap,
    longestGapFrom,
    longestRun: valid === 0 ? 0 : longestRun,
    longestRunFrom,
    runValue: longestRunValue,
    outOfRange,
    lowest,
    highest
  }
}

// The default per-variable checks read one profile per variable: computed once, shared.
const profiled = (options: QualityOptions) => {
  const curve = options.powerCurve ?? defaultPowerCurve
  const limits = { ...defaultLimits(curve), ...options.limits }
  const allowed: { readonly [variable: string]: (value: number) => boolean } = {
    power: (value) => value <= 0,
    ...options.constantAllowed
  }
  const cache = new WeakMap<Float64Array, Profile>()
  return (series: {
    variable: string
    timestamps: Float64Array
    values: Float64Array
    range: TimeRange
    cadence: number
  }) => {
    let found = cache.get(series.values)
    if (found === undefined) {
      found = profile(
        series.timestamps,
        series.values,
        series.range,
        series.cadence,
        limits[series.variable],
        allowed[series.variable]
      )
      cache.set(series.values, found)
    }
    return { profile: found, limits: limits[series.variable] }
  }
}

/**
 * Power well below what the curve gives for the measured wind: the longest stretch of samples
 * with power under 80 % of the expected where at least 10 % of rated is expected (curtailment, a
 * fault, icing). Samples without both values, or where little is expected, neither start nor end one.
 */
export const underperformance = (
  options: QualityOptions & { readonly wind?: string; readonly power?: string } = {}
): Check => {
  const curve = options.powerCurve ?? defaultPowerCurve
  const thresholds = options.underperformance ?? { warn: 60, error: 180 }
  const windName = options.wind ?? "wind_speed"
  const powerName = options.power ?? "power"
  return {
    name: "underperformance",
    run: (input) => {
      const wind = input.samples.columns[windName]
      const power = input.samples.columns[powerName]
      if (wind === undefined || power === undefined) return []
      const timestamps = input.samples.timestamps
      let longest = 0
      let longestFrom = input.range.start
      let from = Number.NaN
      let to = 0
      let judged = 0
      // The curve inlined: below `lowest` less than 10 % of rated is expected, and nothing is judged.
      const { cutIn, cutOut, ratedPower, ratedSpeed } = curve
      const lowest = cutIn + Math.cbrt(0.1) * (ratedSpeed - cutIn)
      const perSpeed = 1 / (ratedSpeed - cutIn)
      for (let i = 0; i < timestamps.length; i++) {
        const w = wind[i]!
        if (!(w >= lowest && w < cutOut)) continue
        const p = power[i]!
        if (p - p !== 0) continue
        const r = (w - cutIn) * perSpeed
        const expected = w >= ratedSpeed ? ratedPower : ratedPower * r * r * r
        judged++
        if (p < 0.8 * expected) {
          if (Number.isNaN(from)) from = timestamps[i]!
          to = timestamps[i]!
          if (to - from + input.cadence > longest) {
            longest = to - from + input.cadence
            longestFrom = from
          }
        } else {
          from = Number.NaN
        }
      }
      const value = longest / minutes
      const severity = severityAbove(value, thresholds)
      return [
        {
          check: "underperformance",
          variable: powerName,
          value,
          severity,
          reason:
            longest === 0
              ? `power follows the curve for the wind (${count(judged)} samples judged)`
              : `power under 80% of the curve for ${span(longest)} from ${clock(longestFrom)}`
        }
      ]
    }
  }
}

/** The default checks: coverage, longest gap, frozen, out of range, duplicates, outside, underperformance. */
export const defaults = (options: QualityOptions = {}): Array<Check> => {
  const of = profiled(options)
  const coverage = options.coverage ?? { warn: 0.9, error: 0.5 }
  const longestGap = options.longestGap ?? { warn: 30, error: 180 }
  const frozen = options.frozen ?? { warn: 30, error: 120 }
  return [
    perVariable("coverage", (series) => {
      const { profile } = of(series)
      const expected = (series.range.end - series.range.start) / series.cadence
      const value = profile.valid / expected
      return {
        value,
        severity: severityBelow(value, coverage),
        reason: `${count(profile.valid)} of ${count(Math.round(expected))} samples (${percent(value)})`
      }
    }),
    perVariable("longest_gap", (series) => {
      const { profile } = of(series)
      const value = profile.longestGap / minutes
      return {
        value,
        severity: severityAbove(value, longestGap),
        reason:
          profile.longestGap === 0
            ? "no gap"
            : `${span(profile.longestGap)} without a value from ${clock(profile.longestGapFrom)}`
      }
    }),
    perVariable("frozen", (series) => {
      const { profile } = of(series)
      const value = profile.longestRun / minutes
      return {
        value,
        severity: severityAbove(value, frozen),
        reason:
          profile.valid === 0
            ? "no value"
            : `longest run of one value: ${span(profile.longestRun)}${value >= frozen.warn ? ` at ${profile.runValue} from ${clock(profile.longestRunFrom)}` : ""}`
      }
    }),
    perVariable("out_of_range", (series) => {
      const { limits, profile } = of(series)
      if (limits === undefined) return undefined
      return {
        value: profile.outOfRange,
        severity: profile.outOfRange > 0 ? "error" : "ok",
        reason:
          profile.outOfRange === 0
            ? `all within ${limits.min} to ${limits.max}`
            : `${count(profile.outOfRange)} outside ${limits.min} to ${limits.max} (seen ${profile.lowest} to ${profile.highest})`
      }
    }),
    {
      name: "duplicates",
      run: (input) => [
        {
          check: "duplicates",
          variable: wholePartition,
          value: input.duplicates,
          severity: input.duplicates > 0 ? "warn" : "ok",
          reason:
            input.duplicates === 0 ? "no timestamp twice" : `${count(input.duplicates)} samples repeat a timestamp`
        }
      ]
    },
    {
      name: "outside",
      run: (input) => [
        {
          check: "outside",
          variable: wholePartition,
          value: input.outside,
          severity: input.outside > 0 ? "warn" : "ok",
          reason:
            input.outside === 0
              ? "none outside the partition"
              : `${count(input.outside)} samples outside the partition, ignored`
        }
      ]
    },
    underperformance(options)
  ]
}

/** Every check's findings on a partition, in the checks' order. */
export const run = (checks: ReadonlyArray<Check>, input: Input): Array<Finding> =>
  checks.flatMap((check) => check.run(input))

/** The worst severity of some findings (`ok` for none). */
export const worst = (findings: ReadonlyArray<Finding>): Severity =>
  findings.some((finding) => finding.severity === "error")
    ? "error"
    : findings.some((finding) => finding.severity === "warn")
      ? "warn"
      : "ok"

/** The lowest coverage among the variables' `coverage` findings, or `undefined` without one. */
export const lowestCoverage = (findings: ReadonlyArray<Finding>): number | undefined => {
  let lowest: number | undefined
  for (const finding of findings) {
    if (finding.check === "coverage" && (lowest === undefined || finding.value < lowest)) lowest = finding.value
  }
  return lowest
}
