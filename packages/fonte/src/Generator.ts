/**
 * Synthetic turbine data, deterministic for a seed: wind from a Weibull-like, autocorrelated
 * process with a daily pattern, power from a 5 MW power curve (cut-in, rated, cut-out), ambient
 * temperature on a daily cycle, and now and then a missing sample. Each day depends only on the
 * seed and the day, so seeding a range or its days one by one gives the same values.
 */
import { SampleFrame } from "@delfos/etl"

export interface GenerateOptions {
  /** The first instant, epoch ms (a day's midnight, UTC). */
  readonly start: number
  /** Whole days of 1-minute samples. */
  readonly days: number
  /** Same seed, same data; 42 by default. */
  readonly seed?: number | undefined
}

export const turbine = {
  cutIn: 3,
  rated: 12,
  cutOut: 25,
  ratedPower: 5000
} as const

/** The power (kW) the turbine makes at a wind speed (m/s): a cubic rise from cut-in to rated, zero past cut-out. */
export const powerCurve = (speed: number): number =>
  speed < turbine.cutIn || speed >= turbine.cutOut
    ? 0
    : speed >= turbine.rated
      ? turbine.ratedPower
      : turbine.ratedPower * ((speed - turbine.cutIn) / (turbine.rated - turbine.cutIn)) ** 3

const dayMillis = 86_400_000
const minuteMillis = 60_000

// mulberry32: a small, fast, well-distributed 32-bit generator.
const generator = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const round = (value: number, digits: number) => {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

/** `days` days of 1-minute samples from `start`. */
export const generate = (options: GenerateOptions): SampleFrame.SampleFrame => {
  const minutes = options.days * 1440
  const timestamps = new Float64Array(minutes)
  const wind = new Float64Array(minutes)
  const power = new Float64Array(minutes)
  const temperature = new Float64Array(minutes)
  const seed = options.seed ?? 42
  for (let d = 0; d < options.days; d++) {
    const dayStart = options.start + d * dayMillis
    const random = generator(seed * 1_000_003 + Math.floor(dayStart / dayMillis))
    // The day's weather: a Weibull(k = 2) mean speed and a base temperature.
    const dayMean = 3 + 7 * Math.sqrt(-Math.log(1 - random()))
    const baseTemperature = 12 + 10 * random()
    let gust = 0
    for (let m = 0; m < 1440; m++) {
      const i = d * 1440 + m
      const hour = m / 60
      timestamps[i] = dayStart + m * minuteMillis
      gust = 0.97 * gust + 0.35 * (random() - 0.5)
      // Windier in the afternoon, calmer before dawn.
      const speed = Math.max(0, dayMean * (1 + 0.25 * Math.sin(((hour - 9) / 24) * 2 * Math.PI)) + 2.5 * gust)
      wind[i] = round(speed, 2)
      power[i] = round(powerCurve(speed) * (speed >= turbine.cutIn ? 0.97 + 0.06 * random() : 1), 2)
      temperature[i] = round(
        baseTemperature + 6 * Math.sin(((hour - 9) / 24) * 2 * Math.PI) + 0.4 * (random() - 0.5),
        2
      )
      // About one sample in 500 misses a value; one in 2,000 misses all three.
      const gap = random()
      if (gap < 0.0005) {
        wind[i] = power[i] = temperature[i] = Number.NaN
      } else if (gap < 0.002) {
        power[i] = Number.NaN
      }
    }
  }
  return SampleFrame.make(timestamps, { wind_speed: wind, power, ambient_temperature: temperature })
}
