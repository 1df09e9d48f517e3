/**
 * The sensors route's rows as JSON bytes, in the reference's shape: `{"timestamp":…,"wind_speed":…,
 * "power":…,"ambient_temperature":…}`, every key present, unselected metrics `null`, and
 * `"turbine_id"` first when the request named turbines; or, for `format=columns`, a page of one
 * turbine as one line of columns. Serving is what the fonte spends its time on, so a page is
 * written straight into bytes: no string per row, no `JSON.stringify`, no `Number#toString` for
 * the values a sensor has (two decimals), no `Date` formatting.
 */
import { Signal, Timestamp } from "@delfos/etl"
import type { Page } from "./SensorStore.ts"

/** What a request asked for: its metrics, and whether rows name their turbine. */
export interface Shape {
  readonly metrics: ReadonlyArray<Signal.Variable>
  readonly withTurbine: boolean
}

const dayMillis = 86_400_000
/** The instants whose naive ISO form has a four-digit year, 0000 to 9999. */
const fourDigitYears = { start: Timestamp.parse("0000-01-01"), end: Timestamp.parse("+010000-01-01") }
const zero = 48

/** A growing byte buffer, written left to right; `take` hands out what was written. */
class Bytes {
  bytes: Uint8Array
  at = 0
  constructor(size: number) {
    this.bytes = new Uint8Array(size)
  }
  reserve(n: number): void {
    if (this.at + n <= this.bytes.length) return
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.at + n))
    grown.set(this.bytes.subarray(0, this.at))
    this.bytes = grown
  }
  /** ASCII text (what JSON numbers, ISO timestamps and turbine names are). */
  ascii(text: string): void {
    this.reserve(text.length)
    for (let i = 0; i < text.length; i++) this.bytes[this.at++] = text.charCodeAt(i)
  }
  copy(bytes: Uint8Array): void {
    this.reserve(bytes.length)
    for (let i = 0; i < bytes.length; i++) this.bytes[this.at++] = bytes[i]!
  }
  take(): Uint8Array {
    return this.bytes.subarray(0, this.at)
  }
}

const asciiBytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0))

// The largest magnitude in hundredths written digit by digit: far below where `String` switches
// to an exponent (1e21) and where hundredths stop being exact integers (2^53).
const maxHundredths = 1e15

/**
 * A number as `String(value)` writes it. A value that is exactly the double nearest to a number of
 * hundredths (every value the generator makes, most sensors') has `String`'s shortest form
 * `-?int(.d(d)?)?`, written here from its digits; any other goes through `String`.
 */
const writeNumber = (out: Bytes, value: number): void => {
  const hundredths = Math.round(value * 100)
  if (hundredths / 100 !== value || !(Math.abs(hundredths) < maxHundredths)) {
    out.ascii(String(value))
    return
  }
  out.reserve(24)
  const bytes = out.bytes
  let n = hundredths
  // -0 is written "0", as String writes it.
  if (n < 0) {
    bytes[out.at++] = 45
    n = -n
  }
  const whole = Math.floor(n / 100)
  const fraction = n - whole * 100
  let digits = 1
  for (let rest = whole; rest >= 10; rest = Math.floor(rest / 10)) digits++
  for (let i = digits - 1, rest = whole; i >= 0; i--, rest = Math.floor(rest / 10)) {
    bytes[out.at + i] = zero + (rest % 10)
  }
  out.at += digits
  if (fraction !== 0) {
    bytes[out.at++] = 46
    bytes[out.at++] = zero + Math.floor(fraction / 10)
    if (fraction % 10 !== 0) bytes[out.at++] = zero + (fraction % 10)
  }
}

/**
 * `Timestamp.formatNaive`, fast for what a page holds: rows of a few days, on whole seconds. A
 * day's `YYYY-MM-DDT` is made once; anything else (a fraction of a second, a year past 9999) is
 * `Timestamp.formatNaive` itself.
 */
const timestampWriter = () => {
  let day = Number.NaN
  let prefix = new Uint8Array(0)
  return (out: Bytes, millis: number): void => {
    const dayNumber = Math.floor(millis / dayMillis)
    const inDay = millis - dayNumber * dayMillis
    if (inDay % 1000 !== 0 || !(millis >= fourDigitYears.start && millis < fourDigitYears.end)) {
      out.ascii(Timestamp.formatNaive(millis))
      return
    }
    if (dayNumber !== day) {
      day = dayNumber
      prefix = asciiBytes(new Date(dayNumber * dayMillis).toISOString().slice(0, 11))
    }
    out.copy(prefix)
    out.reserve(8)
    const bytes = out.bytes
    const seconds = inDay / 1000
    const hours = Math.floor(seconds / 3600)
    const minutes = Math.floor(seconds / 60) % 60
    const second = seconds % 60
    bytes[out.at++] = zero + Math.floor(hours / 10)
    bytes[out.at++] = zero + (hours % 10)
    bytes[out.at++] = 58
    bytes[out.at++] = zero + Math.floor(minutes / 10)
    bytes[out.at++] = zero + (minutes % 10)
    bytes[out.at++] = 58
    bytes[out.at++] = zero + Math.floor(second / 10)
    bytes[out.at++] = zero + (second % 10)
  }
}

/** The naive ISO form of an instant, as the API writes it (`Timestamp.formatNaive`). */
export const formatNaive = (millis: number): string => {
  const out = new Bytes(32)
  timestampWriter()(out, millis)
  return String.fromCharCode(...out.take())
}

/** A number as the API writes it (`String(value)`). */
export const formatNumber = (value: number): string => {
  const out = new Bytes(32)
  writeNumber(out, value)
  return String.fromCharCode(...out.take())
}

/** An integer (an epoch millisecond) in digits. */
const writeInteger = (out: Bytes, value: number): void => {
  if (!Number.isSafeInteger(value)) {
    out.ascii(String(value))
    return
  }
  out.reserve(17)
  const bytes = out.bytes
  let n = value
  if (n < 0) {
    bytes[out.at++] = 45
    n = -n
  }
  let digits = 1
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++
  for (let i = digits - 1, rest = n; i >= 0; i--, rest = Math.floor(rest / 10)) bytes[out.at + i] = zero + (rest % 10)
  out.at += digits
}

/**
 * `format=columns` (an extension): each page, one turbine's rows, as one line of columns,
 * `{"turbine_id":"WTG01","timestamp_ms":[…],"wind_speed":[…],…}` and a newline, timestamps as
 * epoch milliseconds and only the metrics asked for. Half the bytes of the rows, and no key,
 * string or object per row for a client to read.
 */
export const columnsWriter = (shape: Shape) => {
  const metrics = Signal.knownVariables
    .map((name, c) => ({ name, c }))
    .filter(({ name }) => shape.metrics.includes(name))
  const nothing = asciiBytes("null")
  return (page: Page): Uint8Array => {
    const rows = page.rows
    const out = new Bytes(rows.length * (16 + 8 * metrics.length) + 128)
    out.ascii(`{"turbine_id":"${page.turbine.turbineId}","timestamp_ms":[`)
    for (let i = 0; i < rows.length; i++) {
      if (i > 0) out.ascii(",")
      writeInteger(out, (rows[i]![0] as Date).getTime())
    }
    for (const { c, name } of metrics) {
      out.ascii(`],"${name}":[`)
      for (let i = 0; i < rows.length; i++) {
        if (i > 0) {
          out.reserve(1)
          out.bytes[out.at++] = 44
        }
        const value = rows[i]![c + 1]
        if (typeof value === "number") writeNumber(out, value)
        else out.copy(nothing)
      }
    }
    out.ascii("]}\n")
    return out.take()
  }
}

// About the bytes of a row, to size a page's buffer in one go.
const rowBytes = 120

/**
 * The bytes of a request's pages, one page at a time: for `json`, the rows of a JSON array,
 * separated by commas across pages (the caller writes the brackets); for `ndjson`, one row per line.
 */
export const writer = (shape: Shape, format: "json" | "ndjson") => {
  const writeTimestamp = timestampWriter()
  // The keys of a row, and whether each value is sent or null, fixed for the request.
  // The first key closes the timestamp's string.
  const keys = Signal.knownVariables.map((name, c) => asciiBytes(`${c === 0 ? '"' : ""},"${name}":`))
  const sent = Signal.knownVariables.map((name) => shape.metrics.includes(name))
  const separator = format === "json" ? 44 : -1
  const end = asciiBytes(format === "json" ? "}" : "}\n")
  const nothing = asciiBytes("null")
  const openings = new Map<string, Uint8Array>()
  const opening = (turbineId: string) => {
    let bytes = openings.get(turbineId)
    if (bytes === undefined) {
      bytes = asciiBytes(shape.withTurbine ? `{"turbine_id":"${turbineId}","timestamp":"` : `{"timestamp":"`)
      openings.set(turbineId, bytes)
    }
    return bytes
  }
  let first = true
  return (page: Page): Uint8Array => {
    const out = new Bytes(page.rows.length * rowBytes + 64)
    const open = opening(page.turbine.turbineId)
    for (const row of page.rows) {
      if (first) first = false
      else if (separator >= 0) {
        out.reserve(1)
        out.bytes[out.at++] = separator
      }
      out.copy(open)
      writeTimestamp(out, (row[0] as Date).getTime())
      for (let c = 0; c < keys.length; c++) {
        out.copy(keys[c]!)
        const value = sent[c] ? row[c + 1] : null
        if (typeof value === "number") writeNumber(out, value)
        else out.copy(nothing)
      }
      out.copy(end)
    }
    return out.take()
  }
}
