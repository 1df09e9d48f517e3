/**
 * Windows: the partition cut into `[t, t + every)` intervals labelled by their left edge `t`,
 * aligned to the partition's start (local midnight). A UTC day has 144 ten-minute windows; a DST
 * day 138 or 150; a last window that `every` does not fill ends at the partition's end.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { TimeRange } from "./Partition.ts"

/** The window length, in whole milliseconds. */
export const WindowLength = Schema.Int.check(Schema.isGreaterThan(0)).pipe(Schema.brand("WindowLength"))
export type WindowLength = typeof WindowLength.Type

/** Ten minutes, the reference's `resample('10min')`. */
export const defaultWindowLength = WindowLength.make(600_000)

/** A window length that cannot be read. */
export class InvalidWindowLength extends Schema.TaggedError<InvalidWindowLength>()("InvalidWindowLength", {
  input: Schema.String,
  message: Schema.String
}) {}

const units: Record<string, number> = {
  ms: 1,
  millis: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1_000,
  sec: 1_000,
  secs: 1_000,
  second: 1_000,
  seconds: 1_000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  t: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000
}

const lengthPattern = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i

/**
 * Reads a window length: a Duration, a number of milliseconds, Effect's `"10 minutes"` or pandas'
 * `"10min"`, `"10T"`, `"1h"`, `"30s"`. It must come to a whole, positive number of milliseconds.
 */
export const parseLength = (input: Duration.Input | string): Effect.Effect<WindowLength, InvalidWindowLength> => {
  const text = String(input)
  const fail = (why: string) =>
    Effect.fail(new InvalidWindowLength({ input: text, message: `invalid window length "${text}": ${why}` }))
  let millis: number
  if (typeof input === "string") {
    const match = lengthPattern.exec(input)
    const unit = match?.[2] === undefined ? undefined : units[match[2].toLowerCase()]
    if (match === null || unit === undefined) return fail("expected a number and a unit, e.g. 10min, 1h, 30s")
    millis = Number(match[1]) * unit
  } else {
    const duration = Duration.fromInput(input)
    if (Option.isNone(duration) || !Duration.isFinite(duration.value)) return fail("expected a finite duration")
    millis = Duration.toMillis(duration.value)
  }
  if (!Number.isInteger(millis) || millis <= 0) return fail("expected a whole, positive number of milliseconds")
  return Effect.succeed(WindowLength.make(millis))
}

/** The windows of a time range: `count` windows of `every` ms from `start`, the last clipped at `end`. */
export interface WindowGrid {
  readonly start: number
  readonly end: number
  readonly every: WindowLength
  readonly count: number
}

export const grid = (range: TimeRange, every: WindowLength): WindowGrid => ({
  start: range.start,
  end: range.end,
  every,
  count: Math.ceil((range.end - range.start) / every)
})

/** The label (left edge, epoch ms) of window `index`. */
export const windowStart = (windows: WindowGrid, index: number): number => windows.start + index * windows.every
