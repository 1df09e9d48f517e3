/**
 * Instants as epoch milliseconds, read from and written to ISO 8601 text. A timestamp without an
 * offset is UTC (the fonte API's naive timestamps), never the machine's local time. Years are
 * proleptic Gregorian and read exactly: `0024` is the year 24 and `0000` is 1 BC, never 1924 or
 * 1900. Years 0000 to 9999 have four digits; beyond them ECMAScript's expanded `±YYYYYY` form is
 * written and read, so every instant a `Date` can hold goes to text and back unchanged.
 */

const digit = (text: string, at: number): number => {
  const code = text.charCodeAt(at) - 48
  return code >= 0 && code <= 9 ? code : Number.NaN
}

const digits = (text: string, at: number, count: number): number => {
  let value = 0
  for (let i = 0; i < count; i++) value = value * 10 + digit(text, at + i)
  return value
}

// Proleptic Gregorian: the year 0 (1 BC) and every 400th year are leap years.
const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31

const maxMillis = 8.64e15

// Date.UTC reads the years 0 to 99 as 1900 to 1999. The calendar repeats every 400 years
// (146,097 days), so those years are computed 400 years later and moved back.
const cycleMillis = 146_097 * 86_400_000

const utcMillis = (
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number
): number =>
  year >= 0 && year <= 99
    ? Date.UTC(year + 400, month - 1, day, hour, minute, second, millis) - cycleMillis
    : Date.UTC(year, month - 1, day, hour, minute, second, millis)

/**
 * Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff…]][Z|±HH:MM]` (a space may stand for `T`) into
 * epoch milliseconds; `NaN` when the text is not such a timestamp or names a day or time that does
 * not exist. The year may also be `±YYYYYY` (as `format` writes years outside 0000 to 9999).
 * Digits past the millisecond are truncated.
 */
export const parse = (text: string): number => {
  const length = text.length
  const sign = text.charCodeAt(0)
  // `at` is where the month starts: after `YYYY-`, or after `±YYYYYY-`.
  let at = 5
  let year: number
  if (sign === 43 || sign === 45) {
    year = digits(text, 1, 6)
    // ECMAScript forbids -000000: the year 0 has one spelling.
    if (sign === 45 && year === 0) return Number.NaN
    if (sign === 45) year = -year
    at = 8
  } else {
    year = digits(text, 0, 4)
  }
  if (length < at + 5 || text.charCodeAt(at - 1) !== 45 || text.charCodeAt(at + 2) !== 45) return Number.NaN
  const month = digits(text, at, 2)
  const day = digits(text, at + 3, 2)
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month))) return Number.NaN
  let hour = 0
  let minute = 0
  let second = 0
  let millis = 0
  let offset = 0
  at += 5
  if (at < length) {
    const separator = text.charCodeAt(at)
    if ((separator !== 84 && separator !== 32) || length < at + 6 || text.charCodeAt(at + 3) !== 58) return Number.NaN
    hour = digits(text, at + 1, 2)
    minute = digits(text, at + 4, 2)
    at += 6
    if (at < length && text.charCodeAt(at) === 58) {
      second = digits(text, at + 1, 2)
      at += 3
      if (at < length && text.charCodeAt(at) === 46) {
        at++
        let scale = 100
        const first = at
        while (at < length && !Number.isNaN(digit(text, at))) {
          millis += digit(text, at) * scale
          scale /= 10
          at++
        }
        if (at === first) return Number.NaN
        millis = Math.floor(millis)
      }
    }
    if (!(hour <= 23 && minute <= 59 && second <= 59)) return Number.NaN
    if (at < length) {
      const zone = text.charCodeAt(at)
      if (zone === 90 && at + 1 === length) {
        at++
      } else if ((zone === 43 || zone === 45) && (length === at + 6 || length === at + 5 || length === at + 3)) {
        const hours = digits(text, at + 1, 2)
        const minutes = length === at + 3 ? 0 : digits(text, length - 2, 2)
        if (length === at + 6 && text.charCodeAt(at + 3) !== 58) return Number.NaN
        if (!(hours <= 23 && minutes <= 59)) return Number.NaN
        offset = (zone === 43 ? 1 : -1) * (hours * 60 + minutes) * 60_000
        at = length
      } else {
        return Number.NaN
      }
    }
  }
  if (at !== length) return Number.NaN
  const result = utcMillis(year, month, day, hour, minute, second, millis) - offset
  // A Date holds ±8.64e15 ms: what lies beyond could not be written back.
  return Math.abs(result) <= maxMillis ? result : Number.NaN
}

/** `2024-01-01T00:00:00.000Z`; `+010000-01-01T00:00:00.000Z` past 9999. */
export const format = (millis: number): string => new Date(millis).toISOString()

/**
 * `2024-01-01T00:00:00`, or with `.500` when there is a fraction: the fonte API's naive UTC form,
 * four-digit years from 0000 to 9999 (`±YYYYYY` beyond, as `format`).
 */
export const formatNaive = (millis: number): string => {
  const iso = new Date(millis).toISOString()
  return iso.slice(0, millis % 1000 === 0 ? -5 : -1)
}
