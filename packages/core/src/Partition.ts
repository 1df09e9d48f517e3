/**
 * A partition is one calendar day in an IANA time zone (UTC by default), of one asset (a turbine)
 * or of the source's default series: the unit the pipeline extracts, transforms and loads
 * atomically. Its instants are the half-open `[D 00:00, D+1 00:00)`.
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { type AssetId, AssetId as AssetIdSchema, compare as compareAssets } from "./Asset.ts"
import * as Timestamp from "./Timestamp.ts"

const dayPattern = /^\d{4}-\d{2}-\d{2}$/

// One calendar: the day exists when Timestamp reads it (years exactly, 0000 to 9999 here).
const isCalendarDay = (text: string): boolean => dayPattern.test(text) && !Number.isNaN(Timestamp.parse(text))

/** A calendar day, `YYYY-MM-DD` from 0000-01-01 to 9999-12-31, that exists (`2024-02-30` does not). */
export const Day = Schema.String.check(
  Schema.makeFilter((text: string) => isCalendarDay(text) || `expected a calendar day YYYY-MM-DD, got "${text}"`)
).pipe(Schema.brand("Day"))
export type Day = typeof Day.Type

const isTimeZone = (zone: string): boolean => Option.isSome(DateTime.zoneMakeNamed(zone))

/** An IANA time zone name such as `UTC` or `America/Sao_Paulo`. */
export const TimeZone = Schema.String.check(
  Schema.makeFilter((zone: string) => isTimeZone(zone) || `expected an IANA time zone, got "${zone}"`)
).pipe(Schema.brand("TimeZone"))
export type TimeZone = typeof TimeZone.Type

export const utc = TimeZone.make("UTC")

/** A day in a time zone, of one asset, or of the source's default series when `asset` is absent. */
export const Partition = Schema.Struct({
  day: Day,
  timeZone: TimeZone,
  asset: Schema.optionalKey(AssetIdSchema)
})
export type Partition = typeof Partition.Type

/** Anything that names a partition: a partition, a run, a report, a state. */
export interface PartitionLike {
  readonly day: Day
  readonly timeZone: TimeZone
  readonly asset?: AssetId | undefined
}

/** A half-open interval of instants `[start, end)`, in epoch milliseconds. */
export const TimeRange = Schema.Struct({
  start: Schema.Finite,
  end: Schema.Finite
}).check(Schema.makeFilter(({ end, start }) => start < end || "expected start before end"))
export type TimeRange = typeof TimeRange.Type

/** A day or its time zone is not valid. */
export class InvalidPartition extends Schema.TaggedError<InvalidPartition>()("InvalidPartition", {
  day: Schema.String,
  timeZone: Schema.String,
  message: Schema.String
}) {}

/** Parses a partition from raw text, failing with `InvalidPartition` that says which part is wrong. */
export const parse = (day: string, timeZone: string = "UTC"): Effect.Effect<Partition, InvalidPartition> => {
  if (!isCalendarDay(day)) {
    return Effect.fail(
      new InvalidPartition({ day, timeZone, message: `invalid date "${day}": expected an existing day YYYY-MM-DD` })
    )
  }
  if (!isTimeZone(timeZone)) {
    return Effect.fail(
      new InvalidPartition({ day, timeZone, message: `invalid time zone "${timeZone}": expected an IANA name` })
    )
  }
  return Effect.succeed({ day: day as Day, timeZone: timeZone as TimeZone })
}

/** Builds a partition, throwing on an invalid day, zone or asset (for literals in code and tests); `parse` fails typed. */
export const makeUnsafe = (day: string, timeZone: string = "UTC", asset?: string): Partition =>
  Partition.make({
    day: Day.make(day),
    timeZone: TimeZone.make(timeZone),
    ...(asset === undefined ? {} : { asset: AssetIdSchema.make(asset) })
  })

/** The partitions of `partitions`' days for each of `assets` (day by day, assets in the order given); unchanged without assets. */
export const forAssets = (
  partitions: ReadonlyArray<Partition>,
  assets: ReadonlyArray<AssetId> | undefined
): Array<Partition> =>
  assets === undefined || assets.length === 0
    ? partitions.map(({ day, timeZone }) => ({ day, timeZone }))
    : partitions.flatMap(({ day, timeZone }) => assets.map((asset) => ({ day, timeZone, asset })))

/** A partition's identity as one string, for maps and sets: `UTC|2024-01-01|WTG01`. */
export const key = (partition: PartitionLike): string =>
  `${partition.timeZone}|${partition.day}|${partition.asset ?? ""}`

/** Orders partitions by day, then time zone, then asset (numbers in asset ids read as numbers). */
export const compare = (a: PartitionLike, b: PartitionLike): number =>
  a.day < b.day
    ? -1
    : a.day > b.day
      ? 1
      : a.timeZone < b.timeZone
        ? -1
        : a.timeZone > b.timeZone
          ? 1
          : compareAssets(a.asset, b.asset)

const dayToUtcMillis = (day: Day): number => Timestamp.parse(day)

// The day after 9999-12-31 comes out as `+010000-01-01`: the right day, outside `Day`'s four digits.
const millisToDay = (millis: number): Day => {
  const iso = Timestamp.format(millis)
  return iso.slice(0, iso.indexOf("T")) as Day
}

const dayMillis = 86_400_000

/** The day `n` days after `day` (before, for a negative `n`). */
export const addDays = (day: Day, n: number): Day => millisToDay(dayToUtcMillis(day) + n * dayMillis)

/** Days since 1970-01-01 (negative before it): day arithmetic without dates, e.g. the days between two. */
export const dayNumber = (day: Day): number => dayToUtcMillis(day) / dayMillis

/** The day of the week, Monday 0 to Sunday 6 (1970-01-01 was a Thursday, 3). */
export const weekday = (day: Day): number => (((dayNumber(day) + 3) % 7) + 7) % 7

/** Every day from `from` to `to`, both included; empty when `to` is before `from`. */
export const days = (from: Day, to: Day): Array<Day> => {
  const out: Array<Day> = []
  for (let t = dayToUtcMillis(from), last = dayToUtcMillis(to); t <= last; t += dayMillis) out.push(millisToDay(t))
  return out
}

/**
 * The first instant of a local day, given as its UTC midnight: local midnight, or where midnight
 * does not exist (a DST gap at 00:00, as in America/Sao_Paulo until 2019) the first instant after
 * the gap.
 */
const startOfLocalDay = (utcMidnight: number, timeZone: TimeZone): number => {
  if (timeZone === "UTC") return utcMidnight
  const zoned = DateTime.makeZonedUnsafe(utcMidnight, {
    timeZone,
    adjustForTimeZone: true,
    disambiguation: "compatible"
  })
  return DateTime.toEpochMillis(zoned)
}

/** The instants of a partition, `[D 00:00, D+1 00:00)` in its time zone. */
export const range = (partition: PartitionLike): TimeRange => {
  // In milliseconds, not days: the day after 9999-12-31 has no `Day`, but its midnight is the end.
  const midnight = dayToUtcMillis(partition.day)
  return {
    start: startOfLocalDay(midnight, partition.timeZone),
    end: startOfLocalDay(midnight + dayMillis, partition.timeZone)
  }
}

/** `2024-01-01`, `2024-01-01 (America/Sao_Paulo)`, `2024-01-01 WTG07`. */
export const format = (partition: PartitionLike): string =>
  `${partition.day}${partition.timeZone === "UTC" ? "" : ` (${partition.timeZone})`}${partition.asset === undefined ? "" : ` ${partition.asset}`}`

/** The day that contains `instant` (epoch milliseconds) in `timeZone`. */
export const dayOf = (instant: number, timeZone: TimeZone = utc): Day => {
  if (timeZone === "UTC") return millisToDay(instant)
  const zoned = DateTime.makeZonedUnsafe(instant, { timeZone })
  return DateTime.formatIsoDate(zoned).slice(0, 10) as Day
}

/** A range of days whose end comes before its start. */
export class InvalidDayRange extends Schema.TaggedError<InvalidDayRange>()("InvalidDayRange", {
  from: Schema.String,
  to: Schema.String,
  message: Schema.String
}) {}

/** Parses the partitions of the days `from` to `to`, both included, in `timeZone`. */
export const parseRange = (
  from: string,
  to: string,
  timeZone: string = "UTC"
): Effect.Effect<Array<Partition>, InvalidPartition | InvalidDayRange> =>
  Effect.gen(function* () {
    const first = yield* parse(from, timeZone)
    const last = yield* parse(to, timeZone)
    if (last.day < first.day) {
      return yield* new InvalidDayRange({ from, to, message: `invalid range: ${to} is before ${from}` })
    }
    return days(first.day, last.day).map((day) => ({ day, timeZone: first.timeZone }))
  })
