/**
 * A synthetic wind farm, deterministic for a seed. One wind field for the farm (a Weibull-like daily
 * mean, autocorrelated gusts, an afternoon peak), seen by each turbine through its own small speed
 * factor, its own turbulence and the wakes of the turbines upwind of it (a fixed layout, the day's
 * wind direction); power from each turbine's power curve and efficiency; one air temperature with a
 * small offset per turbine; now and then a missing sample. A few turbines carry faults that
 * data-quality checks should find (`faults` is the ground truth): a stuck anemometer, curtailment,
 * downtime.
 *
 * WTG01 is the farm's reference turbine: free-standing, never faulty, and exactly the series the
 * single-turbine generator always made for a seed, whatever the size of the farm. A turbine's day
 * depends only on the seed, the turbine and the day (never on the number of turbines, nor on the
 * range it was generated in), so seeding is idempotent and a fleet can grow.
 */
import { SampleFrame, Signal } from "@delfos/etl"

export interface GenerateOptions {
  /** The first instant, epoch ms (a day's midnight, UTC). */
  readonly start: number
  /** Whole days of 1-minute samples. */
  readonly days: number
  /** Same seed, same data; 42 by default. */
  readonly seed?: number | undefined
  /** Which turbine, from 1 (WTG01, the default). */
  readonly turbine?: number | undefined
}

/** The model turbine: a 5 MW machine with a 126 m rotor. */
export const turbine = {
  cutIn: 3,
  rated: 12,
  cutOut: 25,
  ratedPower: 5000,
  rotorDiameter: 126
} as const

/** The power (kW) the turbine makes at a wind speed (m/s): a cubic rise from cut-in to rated, zero past cut-out. */
export const powerCurve = (speed: number): number =>
  speed < turbine.cutIn || speed >= turbine.cutOut
    ? 0
    : speed >= turbine.rated
      ? turbine.ratedPower
      : turbine.ratedPower * ((speed - turbine.cutIn) / (turbine.rated - turbine.cutIn)) ** 3

/**
 * The farm's layout: columns of `columnHeight` turbines running south to north, 4 rotor diameters
 * apart, and columns 7 diameters apart from west to east, filled in order (WTG01–WTG05 are the
 * westmost column). The wind blows from the west sector (`directions`), so a turbine's wakes come
 * from the columns west of it, whose turbines all have lower numbers.
 */
export const layout = {
  columnHeight: 5,
  rowSpacing: 4 * turbine.rotorDiameter,
  columnSpacing: 7 * turbine.rotorDiameter,
  /** Where the wind comes from, in degrees clockwise from north: the west sector, 225° to 315°. */
  directions: [225, 315]
} as const

/** `WTG01`, …, `WTG99`, `WTG100`, …: the name of the n-th turbine (from 1), two digits at least. */
export const turbineId = (n: number): string => `WTG${String(n).padStart(2, "0")}`

export interface Turbine {
  /** 1 for WTG01. */
  readonly number: number
  readonly turbineId: string
  /** kW */
  readonly ratedPower: number
  /** Metres east of WTG01. */
  readonly x: number
  /** Metres north of WTG01. */
  readonly y: number
}

const position = (n: number) => ({
  x: Math.floor((n - 1) / layout.columnHeight) * layout.columnSpacing,
  y: ((n - 1) % layout.columnHeight) * layout.rowSpacing
})

/** The first `count` turbines of the farm, WTG01 first. */
export const turbines = (count: number): Array<Turbine> =>
  Array.from({ length: count }, (_, i) => ({
    number: i + 1,
    turbineId: turbineId(i + 1),
    ratedPower: turbine.ratedPower,
    ...position(i + 1)
  }))

/** The kinds of fault the generator plants. */
export type FaultKind = "stuck_wind_sensor" | "curtailment" | "downtime"

/**
 * One planted fault, `[from, to)` in epoch ms:
 * - `stuck_wind_sensor`: `wind_speed` frozen at `value` (m/s) while power follows the real wind;
 * - `curtailment`: `power` capped at `value` (kW), 40–60 % of rated power (or of what the wind gives
 *   in those hours, when that is less), in the windiest hours of the day;
 * - `downtime`: no samples at all, and `power` 0 for `downtimeShoulder` minutes on either side.
 */
export interface Fault {
  /** `WTG03` */
  readonly turbine: string
  /** The UTC day it happens on, `YYYY-MM-DD`. */
  readonly day: string
  readonly kind: FaultKind
  readonly from: number
  readonly to: number
  readonly value?: number | undefined
}

/**
 * The farm's problem turbines, each with one fault of its kind every third day (so any 3 days of a
 * farm of 9 or more turbines hold one of each): an anemometer that ices, a feeder the grid operator
 * curtails, a turbine often down. Every other turbine but WTG01 has a few faults a year, at random.
 */
export const problemTurbines: Readonly<Record<number, FaultKind>> = {
  3: "stuck_wind_sensor",
  6: "curtailment",
  9: "downtime"
}

/** The chance a day of any other turbine (but WTG01) has a fault of each kind: about 3 of each a year. */
export const faultChance = 1 / 120

/** Minutes of `power` 0 before and after a downtime (stopping, restarting). */
export const downtimeShoulder = 30

const dayMillis = 86_400_000
const minuteMillis = 60_000
const minutes = 1440

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

// murmur3's finalizer, to mix the seed, turbine, day and purpose of a random stream into its seed.
const fmix = (value: number) => {
  let h = value >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const hash = (...parts: ReadonlyArray<number>) => {
  let h = 0x9e3779b9
  for (const part of parts) {
    // Seeds are safe integers and days may be negative: both 32-bit halves count.
    h = fmix(h ^ (part >>> 0))
    h = fmix(h ^ (Math.floor(part / 4_294_967_296) >>> 0))
  }
  return h
}

/** What a random stream is for, so that streams of one turbine-day never overlap. */
const purpose = { traits: 1, turbineDay: 2, direction: 3, fault: 4, faultTiming: 5, problemPhase: 6 } as const

const uniform = (...parts: ReadonlyArray<number>) => generator(hash(...parts))()

/** To 2 decimals, as the samples are written. */
const round = (value: number) => Math.round(value * 100) / 100

/** The farm's weather for a day, and WTG01's samples: the single-turbine generator, unchanged. */
interface ReferenceDay {
  /** The free wind speed before it is clamped at 0, m/s. */
  readonly wind: Float64Array
  /** The air temperature, °C, before rounding. */
  readonly air: Float64Array
  readonly frame: SampleFrame.SampleFrame
}

const referenceDay = (seed: number, dayStart: number): ReferenceDay => {
  const timestamps = new Float64Array(minutes)
  const windSpeed = new Float64Array(minutes)
  const power = new Float64Array(minutes)
  const temperature = new Float64Array(minutes)
  const free = new Float64Array(minutes)
  const air = new Float64Array(minutes)
  const random = generator(seed * 1_000_003 + Math.floor(dayStart / dayMillis))
  // The day's weather: a Weibull(k = 2) mean speed and a base temperature.
  const dayMean = 3 + 7 * Math.sqrt(-Math.log(1 - random()))
  const baseTemperature = 12 + 10 * random()
  let gust = 0
  for (let m = 0; m < minutes; m++) {
    const hour = m / 60
    timestamps[m] = dayStart + m * minuteMillis
    gust = 0.97 * gust + 0.35 * (random() - 0.5)
    // Windier in the afternoon, calmer before dawn.
    const unclamped = dayMean * (1 + 0.25 * Math.sin(((hour - 9) / 24) * 2 * Math.PI)) + 2.5 * gust
    const speed = Math.max(0, unclamped)
    free[m] = unclamped
    windSpeed[m] = round(speed)
    power[m] = round(powerCurve(speed) * (speed >= turbine.cutIn ? 0.97 + 0.06 * random() : 1))
    const celsius = baseTemperature + 6 * Math.sin(((hour - 9) / 24) * 2 * Math.PI) + 0.4 * (random() - 0.5)
    air[m] = celsius
    temperature[m] = round(celsius)
    // About one sample in 500 misses a value; one in 2,000 misses all three.
    const gap = random()
    if (gap < 0.0005) {
      windSpeed[m] = power[m] = temperature[m] = Number.NaN
    } else if (gap < 0.002) {
      power[m] = Number.NaN
    }
  }
  return {
    wind: free,
    air,
    frame: SampleFrame.make(timestamps, { wind_speed: windSpeed, power, ambient_temperature: temperature })
  }
}

/** A turbine's own constants: a speed factor (site and siting), an efficiency, a temperature offset. */
const traitsOf = (seed: number, n: number) => {
  const random = generator(hash(seed, n, purpose.traits))
  return {
    speedFactor: 0.97 + 0.06 * random(),
    efficiency: 0.97 + 0.03 * random(),
    temperatureOffset: -0.3 + 0.6 * random()
  }
}

/** The wind direction (degrees from north it blows from) at each hour 0 to 24 of a day: the day's, veering a little. */
const directions = (seed: number, day: number): Float64Array => {
  const random = generator(hash(seed, day, purpose.direction))
  const [low, high] = layout.directions
  const out = new Float64Array(25)
  let direction = low + (high - low) * random()
  for (let h = 0; h <= 24; h++) {
    out[h] = direction
    direction = Math.min(high, Math.max(low, direction + 6 * (random() - 0.5)))
  }
  return out
}

// Jensen's wake: a deficit of (1 - sqrt(1 - Ct)) behind the rotor, spreading linearly downstream,
// here with a Gaussian edge; deficits of several wakes add in quadrature.
const thrust = 0.8
const wakeSpread = 0.075
const radius = turbine.rotorDiameter / 2

/** The share of the free wind turbine `n` sees, the others' wakes taken off, for wind from `direction`. */
export const wakeFactor = (n: number, direction: number): number => {
  const { x, y } = position(n)
  const angle = (direction * Math.PI) / 180
  // The way the air moves: from `direction` towards the opposite one (x east, y north).
  const ux = -Math.sin(angle)
  const uy = -Math.cos(angle)
  const upwind = Math.floor((n - 1) / layout.columnHeight) * layout.columnHeight
  let sum = 0
  for (let j = 1; j <= upwind; j++) {
    const other = position(j)
    const dx = x - other.x
    const dy = y - other.y
    const downstream = dx * ux + dy * uy
    if (downstream <= 0) continue
    const lateral = Math.abs(dx * uy - dy * ux)
    const width = radius + wakeSpread * downstream
    const deficit = (1 - Math.sqrt(1 - thrust)) * (radius / width) ** 2 * Math.exp(-((lateral / width) ** 2))
    sum += deficit * deficit
  }
  return 1 - Math.sqrt(sum)
}

type Plan =
  | { readonly kind: "stuck_wind_sensor" | "downtime"; readonly from: number; readonly to: number }
  | { readonly kind: "curtailment"; readonly duration: number; readonly level: number }

const modulo = (a: number, b: number) => ((a % b) + b) % b

/** The fault a turbine-day carries, if any: its kind and minutes (a curtailment's come from the wind). */
const planFault = (seed: number, n: number, day: number): Plan | undefined => {
  if (n === 1) return undefined
  const problem = problemTurbines[n]
  let kind: FaultKind | undefined
  if (problem !== undefined) {
    const phase = Math.floor(uniform(seed, n, purpose.problemPhase) * 3)
    kind = modulo(day - phase, 3) === 0 ? problem : undefined
  } else {
    const u = uniform(seed, n, day, purpose.fault)
    kind =
      u < faultChance
        ? "stuck_wind_sensor"
        : u < 2 * faultChance
          ? "curtailment"
          : u < 3 * faultChance
            ? "downtime"
            : undefined
  }
  if (kind === undefined) return undefined
  const random = generator(hash(seed, n, day, purpose.faultTiming))
  switch (kind) {
    case "stuck_wind_sensor": {
      // From 01:00 to 18:00, for 2 to 6 hours.
      const from = 60 + Math.floor(random() * 17 * 60)
      return { kind, from, to: from + 120 + Math.floor(random() * 240) }
    }
    case "downtime": {
      // From 01:00 to 15:00, for 2 to 8 hours: the shoulders stay inside the day.
      const from = 60 + Math.floor(random() * 14 * 60)
      return { kind, from, to: from + 120 + Math.floor(random() * 360) }
    }
    case "curtailment":
      return { kind, duration: 120 + Math.floor(random() * 360), level: 0.4 + 0.2 * random() }
  }
}

/** The `duration` minutes with the most power, and the median power in them. */
const windiest = (power: Float64Array, duration: number) => {
  const value = (m: number) => (Number.isNaN(power[m]!) ? 0 : power[m]!)
  let sum = 0
  for (let m = 0; m < duration; m++) sum += value(m)
  let best = sum
  let from = 0
  for (let m = duration; m < minutes; m++) {
    sum += value(m) - value(m - duration)
    if (sum > best) {
      best = sum
      from = m - duration + 1
    }
  }
  const inWindow = Array.from(power.subarray(from, from + duration)).filter((p) => !Number.isNaN(p))
  inWindow.sort((a, b) => a - b)
  return { from, median: inWindow[Math.floor(inWindow.length / 2)] ?? 0 }
}

const dayText = (dayStart: number) => new Date(dayStart).toISOString().slice(0, 10)

interface TurbineDay {
  readonly frame: SampleFrame.SampleFrame
  readonly fault: Fault | undefined
}

const simulate = (seed: number, n: number, dayStart: number, reference: ReferenceDay): TurbineDay => {
  if (n === 1) return { frame: reference.frame, fault: undefined }
  const day = Math.floor(dayStart / dayMillis)
  const traits = traitsOf(seed, n)
  const hourly = directions(seed, day)
  const wake = hourly.map((direction) => wakeFactor(n, direction))
  const random = generator(hash(seed, n, day, purpose.turbineDay))
  const speed = new Float64Array(minutes)
  const windSpeed = new Float64Array(minutes)
  const power = new Float64Array(minutes)
  const temperature = new Float64Array(minutes)
  let gust = 0
  for (let m = 0; m < minutes; m++) {
    // Its own turbulence, on top of the farm's gusts: about 0.2 m/s.
    gust = 0.9 * gust + 0.3 * (random() - 0.5)
    const hour = Math.floor(m / 60)
    const share = wake[hour]! + (wake[hour + 1]! - wake[hour]!) * ((m % 60) / 60)
    const v = Math.max(0, reference.wind[m]! * traits.speedFactor * share + gust)
    speed[m] = v
    windSpeed[m] = round(v)
    const noise = 0.97 + 0.06 * random()
    power[m] = round(powerCurve(v) * traits.efficiency * (v >= turbine.cutIn ? noise : 1))
    temperature[m] = round(reference.air[m]! + traits.temperatureOffset + 0.1 * (random() - 0.5))
    const gap = random()
    if (gap < 0.0005) {
      windSpeed[m] = power[m] = temperature[m] = Number.NaN
    } else if (gap < 0.002) {
      power[m] = Number.NaN
    }
  }

  const plan = planFault(seed, n, day)
  let fault: Fault | undefined
  let keepFrom = 0
  let keepTo = 0
  if (plan !== undefined) {
    const at = (m: number) => dayStart + m * minuteMillis
    const base = { turbine: turbineId(n), day: dayText(dayStart), kind: plan.kind }
    switch (plan.kind) {
      case "stuck_wind_sensor": {
        // The anemometer freezes at what it read; the turbine goes on following the real wind.
        const frozen = round(speed[plan.from]!)
        for (let m = plan.from; m < plan.to; m++) windSpeed[m] = frozen
        fault = { ...base, from: at(plan.from), to: at(plan.to), value: frozen }
        break
      }
      case "curtailment": {
        const window = windiest(power, plan.duration)
        const cap = round(plan.level * Math.min(turbine.ratedPower, window.median))
        for (let m = window.from; m < window.from + plan.duration; m++) power[m] = Math.min(power[m]!, cap)
        fault = { ...base, from: at(window.from), to: at(window.from + plan.duration), value: cap }
        break
      }
      case "downtime": {
        // Stopped before, silent during, restarting after.
        for (let m = plan.from - downtimeShoulder; m < plan.to + downtimeShoulder; m++) {
          if (!Number.isNaN(power[m]!)) power[m] = 0
        }
        keepFrom = plan.from
        keepTo = plan.to
        fault = { ...base, from: at(plan.from), to: at(plan.to) }
        break
      }
    }
  }

  const timestamps = new Float64Array(minutes)
  for (let m = 0; m < minutes; m++) timestamps[m] = dayStart + m * minuteMillis
  const columns = { wind_speed: windSpeed, power, ambient_temperature: temperature }
  if (keepFrom === keepTo) return { frame: SampleFrame.make(timestamps, columns), fault }
  // A downtime has no samples: the minutes before it and after it, joined.
  const cut = (values: Float64Array) => {
    const out = new Float64Array(minutes - (keepTo - keepFrom))
    out.set(values.subarray(0, keepFrom), 0)
    out.set(values.subarray(keepTo), keepFrom)
    return out
  }
  return {
    frame: SampleFrame.make(cut(timestamps), {
      wind_speed: cut(windSpeed),
      power: cut(power),
      ambient_temperature: cut(temperature)
    }),
    fault
  }
}

/** A farm for one seed: each day's weather is computed once and shared by its turbines. */
export interface Farm {
  readonly seed: number
  /** Turbine `n`'s samples (from 1) for the 1,440 minutes from `dayStart`, with its faults. */
  readonly turbineDay: (n: number, dayStart: number) => SampleFrame.SampleFrame
  /** The fault turbine `n` has on the day from `dayStart`, if any. */
  readonly fault: (n: number, dayStart: number) => Fault | undefined
}

/**
 * A farm for `seed` (42 by default). It keeps the weather of the days it was asked for: make one
 * per range (a year of weather is ~8 MB), not one for the life of a process.
 */
export const farm = (seed = 42): Farm => {
  const weather = new Map<number, ReferenceDay>()
  const reference = (dayStart: number) => {
    let day = weather.get(dayStart)
    if (day === undefined) {
      day = referenceDay(seed, dayStart)
      weather.set(dayStart, day)
    }
    return day
  }
  return {
    seed,
    turbineDay: (n, dayStart) => simulate(seed, n, dayStart, reference(dayStart)).frame,
    fault: (n, dayStart) =>
      planFault(seed, n, Math.floor(dayStart / dayMillis)) === undefined
        ? undefined
        : simulate(seed, n, dayStart, reference(dayStart)).fault
  }
}

/** `days` days of 1-minute samples from `start` for one turbine (WTG01 by default). */
export const generate = (options: GenerateOptions): SampleFrame.SampleFrame => {
  const farmOf = farm(options.seed ?? 42)
  const frames = Array.from({ length: options.days }, (_, d) =>
    farmOf.turbineDay(options.turbine ?? 1, options.start + d * dayMillis)
  )
  return frames.length === 1 ? frames[0]! : SampleFrame.concat(frames, Signal.knownVariables)
}

export interface FaultsOptions {
  readonly seed?: number | undefined
  /** The farm's first `turbines` turbines. */
  readonly turbines: number
  /** The first day, epoch ms. */
  readonly start: number
  readonly days: number
}

/** The faults a range of the farm carries: what data-quality checks should find, and nothing else. By turbine, then time. */
export const faults = (options: FaultsOptions): Array<Fault> => {
  const farmOf = farm(options.seed ?? 42)
  const out: Array<Fault> = []
  for (let n = 1; n <= options.turbines; n++) {
    for (let d = 0; d < options.days; d++) {
      const fault = farmOf.fault(n, options.start + d * dayMillis)
      if (fault !== undefined) out.push(fault)
    }
  }
  return out
}
