/**
 * The sensors route's rows as JSON text, in the reference's shape: `{"timestamp":…,"wind_speed":…,
 * "power":…,"ambient_temperature":…}`, every key present, unselected metrics `null`, and
 * `"turbine_id"` first when the request named turbines. Written a page at a time, with no `Date`,
 * object or array per row: serving is what the fonte spends its time on.
 */
import { Signal, Timestamp } from "@delfos/etl"
import type { Page } from "./SensorStore.ts"

/** What a request asked for: its metrics, and whether rows name their turbine. */
export interface Shape {
  readonly metrics: ReadonlyArray<Signal.Variable>
  readonly withTurbine: boolean
}

const dayMillis = 86_400_000
const twoDigits = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"))
/** The instants whose naive ISO form has a four-digit year, 0000 to 9999. */
const fourDigitYears = { start: Timestamp.parse("0000-01-01"), end: Timestamp.parse("+010000-01-01") }

/**
 * `Timestamp.formatNaive`, fast for what a page holds: rows of a few days, on whole seconds. The
 * day's `YYYY-MM-DDT` is made once per day; anything else (a fraction of a second, a year past
 * 9999) is `Timestamp.formatNaive` itself.
 */
export const naiveFormatter = (): ((millis: number) => string) => {
  let day = Number.NaN
  let prefix = ""
  return (millis) => {
    const dayNumber = Math.floor(millis / dayMillis)
    const inDay = millis - dayNumber * dayMillis
    if (inDay % 1000 !== 0 || !(millis >= fourDigitYears.start && millis < fourDigitYears.end)) {
      return Timestamp.formatNaive(millis)
    }
    if (dayNumber !== day) {
      day = dayNumber
      prefix = new Date(dayNumber * dayMillis).toISOString().slice(0, 11)
    }
    const seconds = inDay / 1000
    return `${prefix}${twoDigits[Math.floor(seconds / 3600)]}:${twoDigits[Math.floor(seconds / 60) % 60]}:${twoDigits[seconds % 60]}`
  }
}

/**
 * The text of a request's pages, one page at a time: for `json`, the rows of a JSON array, separated
 * by commas across pages (the caller writes the brackets); for `ndjson`, one row per line.
 */
export const writer = (shape: Shape, format: "json" | "ndjson") => {
  const naive = naiveFormatter()
  // The keys of a row, and whether each value is sent or null, fixed for the request.
  const keys = Signal.knownVariables.map((name) => `,"${name}":`)
  const sent = Signal.knownVariables.map((name) => shape.metrics.includes(name))
  const before = format === "json" ? "," : ""
  const after = format === "json" ? "}" : "}\n"
  let first = true
  return (page: Page): string => {
    const opening = shape.withTurbine ? `{"turbine_id":"${page.turbine.turbineId}","timestamp":"` : `{"timestamp":"`
    let text = ""
    for (const row of page.rows) {
      if (first) first = false
      else text += before
      text += `${opening}${naive((row[0] as Date).getTime())}"`
      for (let c = 0; c < keys.length; c++) {
        const value = sent[c] ? row[c + 1] : null
        text += `${keys[c]}${value === null || value === undefined ? "null" : String(value)}`
      }
      text += after
    }
    return text
  }
}
