/**
 * The fonte API's answer, a JSON array of `{ "timestamp": …, "<variable>": number | null, … }`
 * (with `"turbine_id"` when turbines were asked for), decoded straight from its UTF-8 bytes into
 * `SampleFrame`s: one pass, no row objects, every row checked.
 */
import { type Asset, type Partition, SampleFrame, type Signal, Source, Timestamp } from "@delfos/etl"
import * as Result from "effect/Result"

export interface DecodeOptions {
  /** Where the body came from (a URL), for errors. */
  readonly source: string
  /** The variables to read: every row must carry each of them, as a number or `null`. */
  readonly variables: ReadonlyArray<Signal.Variable>
  /** Keeps only the samples in `[start, end)`; every sample when absent. */
  readonly range?: Partition.TimeRange | undefined
  /** Samples per frame, 10,000 by default: a large answer becomes several frames. */
  readonly frameSize?: number | undefined
  /**
   * The turbines asked for: every row must then carry `turbine_id`, one of them, and the frames
   * come one per run of a turbine's rows, tagged with it (`SampleFrame.asset`).
   */
  readonly assets?: ReadonlyArray<Asset.AssetId> | undefined
}

/** The key naming a row's turbine in the fonte API's answer. */
export const assetKey = "turbine_id"

export const defaultFrameSize = 10_000

/**
 * Decodes a whole answer (its UTF-8 bytes as they came off the wire, or text) into frames of the
 * requested variables (`NaN` for `null`), in the answer's order, without the samples outside
 * `range`. Keys other than `timestamp` and the requested variables may hold any JSON value and
 * are skipped. Numbers come out exactly as `JSON.parse` reads them.
 *
 * Fails with `SourceInvalidData` on the first thing that breaks the contract, naming the row (its
 * 0-based index in the array) and the field: a body that is not JSON or ends early, not an array,
 * a row that is not an object, a timestamp missing or not ISO 8601, a requested variable missing
 * or not a finite number or `null`, a `turbine_id` missing or not one of `assets` (when asked).
 * A failure returns no frames at all.
 */
export const decode = (
  body: Uint8Array | string,
  options: DecodeOptions
): Result.Result<Array<SampleFrame.SampleFrame>, Source.SourceInvalidData> => {
  const frameSize = options.frameSize ?? defaultFrameSize
  if (!(Number.isInteger(frameSize) && frameSize > 0)) {
    throw new RangeError(`frameSize must be a positive integer, got ${frameSize}`)
  }
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body
  try {
    return Result.succeed(new Decoder(bytes, options.variables, options.range, frameSize, options.assets).run())
  } catch (error) {
    if (!(error instanceof Invalid)) throw error
    return Result.fail(
      new Source.SourceInvalidData({
        source: options.source,
        reason: error.reason,
        ...(error.row === undefined ? {} : { row: error.row }),
        ...(error.field === undefined ? {} : { field: error.field })
      })
    )
  }
}

/** Thrown inside the decoder, caught by `decode`: unwinding a failure is simpler than threading it. */
class Invalid {
  readonly reason: string
  readonly row: number | undefined
  readonly field: string | undefined
  constructor(reason: string, row: number | undefined, field: string | undefined) {
    this.reason = reason
    this.row = row
    this.field = field
  }
}

const tab = 9
const newline = 10
const carriageReturn = 13
const space = 32
const quote = 34
const plus = 43
const comma = 44
const minus = 45
const dot = 46
const zero = 48
const one = 49
const nine = 57
const colon = 58
const upperE = 69
const upperT = 84
const openBracket = 91
const backslash = 92
const closeBracket = 93
const lowerE = 101
const lowerF = 102
const lowerN = 110
const lowerT = 116
const openBrace = 123
const closeBrace = 125

const utf8 = new TextDecoder()
const encoder = new TextEncoder()

// Reading past the end of the bytes gives `undefined`, which equals no code and passes no range
// test: every loop stops there, and `syntax` reports the body as truncated.
const isDigit = (code: number): boolean => code >= zero && code <= nine

/** The number written by `count` digits at `at`; `NaN` when one is not a digit. */
const digitsAt = (bytes: Uint8Array, at: number, count: number): number => {
  let value = 0
  for (let i = 0; i < count; i++) {
    const code = bytes[at + i]!
    value = isDigit(code) ? value * 10 + (code - zero) : Number.NaN
  }
  return value
}

/** Integers up to this are exact doubles: the fast path of number reading needs one. */
const maxExactInteger = 2 ** 53
/** `10^k` for k ≤ 22, all exact doubles (parsed, not computed, so that they surely are). */
const powersOfTen = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`))

/** How deep skipped values may nest; deeper is certainly not sensor data. */
const maxDepth = 64

/** How many leading keys of a row are remembered (see `Decoder.gaps`); later keys are still read, only slower. */
const rememberedKeys = 16

const kindOf = (code: number): string =>
  code === quote
    ? "a string"
    : code === openBrace
      ? "an object"
      : code === openBracket
        ? "an array"
        : code === lowerT || code === lowerF
          ? "a boolean"
          : code === lowerN
            ? "null"
            : "a number"

const excerpt = (text: string): string => (text.length > 40 ? `${text.slice(0, 40)}…` : text)

/** `a string: "10.5"`, `null`: what a value is, for a message. */
const describe = (code: number, raw: string): string => (code === lowerN ? "null" : `${kindOf(code)}: ${excerpt(raw)}`)

class Decoder {
  private readonly bytes: Uint8Array
  private readonly variables: ReadonlyArray<Signal.Variable>
  private readonly frameSize: number
  private at = 0
  private row: number | undefined = undefined
  private field: string | undefined = undefined
  /** Whether the string just skipped held an escape, so its bytes are not its value. */
  private escaped = false
  /** `timestamp`, then the variables, then `turbine_id` when assets are asked: a key's index here is its slot. */
  private readonly keys: ReadonlyArray<string>
  /** The slot of `turbine_id`, or -2 when no asset is asked (no key has it). */
  private readonly assetSlot: number
  private readonly assets: ReadonlySet<string> | undefined
  /** The asset of the rows in the buffers, and its bytes as they appear in the body. */
  private frameAsset: Asset.AssetId | undefined = undefined
  private frameAssetBytes: Uint8Array = new Uint8Array(0)
  private readonly keyBytes: ReadonlyArray<Uint8Array>
  /**
   * For the first keys of a row, the bytes from the last value (or the brace) to the value met
   * at that position in the last row, `,"power":` say, and that key's slot. Rows repeat their
   * keys in one order, so one comparison usually reads a separator, a key and a colon.
   */
  private readonly gaps = new Array<Uint8Array | undefined>(rememberedKeys).fill(undefined)
  private readonly gapSlots = new Int32Array(rememberedKeys)
  /** The row in which each slot was last set, plus one, so nothing is reset per row. */
  private readonly seenIn: Int32Array
  private readonly start: number
  private readonly end: number
  /** The day of the last naive timestamp as the number `YYYYMMDD`, and its midnight (see `instant`). */
  private day = Number.NaN
  private midnight = Number.NaN

  private readonly frames: Array<SampleFrame.SampleFrame> = []
  private capacity: number
  private length = 0
  private timestamps: Float64Array
  private columns: Array<Float64Array>

  constructor(
    bytes: Uint8Array,
    variables: ReadonlyArray<Signal.Variable>,
    range: Partition.TimeRange | undefined,
    frameSize: number,
    assets: ReadonlyArray<Asset.AssetId> | undefined
  ) {
    this.bytes = bytes
    this.variables = variables
    this.frameSize = frameSize
    this.assets = assets === undefined ? undefined : new Set(assets)
    this.keys = assets === undefined ? ["timestamp", ...variables] : ["timestamp", ...variables, assetKey]
    this.assetSlot = assets === undefined ? -2 : this.keys.length - 1
    this.keyBytes = this.keys.map((key) => encoder.encode(key))
    this.seenIn = new Int32Array(this.keys.length)
    this.start = range?.start ?? Number.NEGATIVE_INFINITY
    this.end = range?.end ?? Number.POSITIVE_INFINITY
    // A day of minutes fits the first buffers; larger answers double them up to a frame.
    this.capacity = Math.min(frameSize, 2048)
    this.timestamps = new Float64Array(this.capacity)
    this.columns = variables.map(() => new Float64Array(this.capacity))
  }

  run(): Array<SampleFrame.SampleFrame> {
    const bytes = this.bytes
    // A byte order mark is not JSON, but a text decoder would drop it: so do we.
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) this.at = 3
    this.whitespace()
    if (this.at >= bytes.length) this.fail("the body is empty; expected a JSON array of samples")
    const first = bytes[this.at]!
    if (first !== openBracket) {
      const text = excerpt(utf8.decode(bytes.subarray(this.at, this.at + 80)).trim())
      if (first === openBrace || first === quote || first === lowerN || first === lowerT || first === lowerF) {
        this.fail(`expected a JSON array of samples, got ${kindOf(first)}: ${text}`)
      }
      this.fail(`the body is not JSON: ${text}`)
    }
    this.at++
    this.whitespace()
    if (bytes[this.at] === closeBracket) {
      this.at++
    } else {
      for (let row = 0; ; row++) {
        this.row = row
        this.sample(row)
        this.row = undefined
        this.whitespace()
        const next = bytes[this.at]
        if (next === comma) {
          this.at++
          this.whitespace()
        } else if (next === closeBracket) {
          this.at++
          break
        } else {
          this.syntax("',' or ']' after a row")
        }
      }
    }
    this.whitespace()
    if (this.at !== bytes.length) this.syntax("the end of the body after the array")
    if (this.length > 0) this.emit()
    return this.frames
  }

  /** Reads one row into the next slot of the buffers, keeping it when its timestamp is in range. */
  private sample(row: number): void {
    const bytes = this.bytes
    const code = bytes[this.at]!
    if (code !== openBrace) {
      if (this.at >= bytes.length) this.syntax("a row")
      const from = this.at
      this.value(0)
      this.fail(`expected an object, got ${describe(code, this.textOf(from, this.at))}`)
    }
    this.at++
    const stamp = row + 1
    const index = this.length
    let timestamp = Number.NaN
    let assetFrom = -1
    let assetTo = -1
    for (let position = 0; ; position++) {
      const from = this.at
      const gap = position < rememberedKeys ? this.gaps[position] : undefined
      let slot: number
      if (gap !== undefined && this.matches(gap, from)) {
        this.at = from + gap.length
        slot = this.gapSlots[position]!
      } else {
        this.whitespace()
        const next = bytes[this.at]
        if (next === closeBrace) break
        if (position > 0) {
          if (next !== comma) this.syntax("',' or '}' in a row")
          this.at++
          this.whitespace()
        }
        slot = this.key()
        this.whitespace()
        if (bytes[this.at] !== colon) this.syntax("':' after a key")
        this.at++
        this.whitespace()
        if (position < rememberedKeys) {
          // The same bytes always spell the same key, escapes or not, so any gap is safe to keep.
          this.gaps[position] = bytes.slice(from, this.at)
          this.gapSlots[position] = slot
        }
      }
      if (slot === 0) {
        this.field = "timestamp"
        timestamp = this.timestamp()
        this.seenIn[0] = stamp
      } else if (slot === this.assetSlot) {
        this.field = assetKey
        if (bytes[this.at] !== quote) {
          const from = this.at
          const code = bytes[from]!
          this.value(0)
          this.fail(`expected a turbine id in quotes, got ${describe(code, this.textOf(from, this.at))}`)
        }
        assetFrom = this.skipString()
        assetTo = this.at - 1
        if (this.escaped) assetFrom = -assetFrom - 1
        this.seenIn[slot] = stamp
      } else if (slot > 0) {
        this.field = this.keys[slot]
        this.columns[slot - 1]![index] = this.sensorValue()
        this.seenIn[slot] = stamp
      } else {
        this.value(0)
      }
      this.field = undefined
    }
    this.at++
    for (let slot = 0; slot < this.keys.length; slot++) {
      if (this.seenIn[slot] !== stamp) {
        this.field = this.keys[slot]
        this.fail(`missing key "${this.keys[slot]}"`)
      }
    }
    if (timestamp >= this.start && timestamp < this.end) {
      this.timestamps[index] = timestamp
      if (this.assets !== undefined) this.assetOfRow(index, assetFrom, assetTo)
      this.length = this.length + 1
      if (this.length === this.capacity) this.makeRoom()
    }
  }

  /**
   * The row just read (at `index`) is of the asset whose id is at `[from, to)` (`from` negative:
   * an escaped id at `-from - 1`). Another asset than the buffers' ends their frame: the rows
   * before are emitted, and this row becomes the first of the next frame.
   */
  private assetOfRow(index: number, from: number, to: number): void {
    if (from >= 0 && to - from === this.frameAssetBytes.length && this.matches(this.frameAssetBytes, from)) return
    const raw = from >= 0 ? this.textOf(from, to) : this.unescapeAt(-from - 1, to)
    if (raw === this.frameAsset) return
    this.field = assetKey
    if (!this.assets!.has(raw)) {
      this.fail(`turbine "${excerpt(raw)}" was not asked for (asked: ${[...this.assets!].join(", ")})`)
    }
    this.field = undefined
    if (index > 0) {
      // Rows of the previous asset fill [0, index): they are its frame; this row starts the next.
      const timestamp = this.timestamps[index]!
      const values = this.columns.map((column) => column[index]!)
      this.length = index
      this.emit()
      this.timestamps = new Float64Array(this.capacity)
      this.columns = this.variables.map(() => new Float64Array(this.capacity))
      this.timestamps[0] = timestamp
      values.forEach((value, v) => {
        this.columns[v]![0] = value
      })
      this.length = 0
    }
    this.frameAsset = raw as Asset.AssetId
    this.frameAssetBytes = from >= 0 ? this.bytes.slice(from, to) : encoder.encode(`\u0000`)
  }

  private unescapeAt(from: number, to: number): string {
    try {
      return JSON.parse(this.textOf(from - 1, to + 1)) as string
    } catch {
      this.at = from - 1
      return this.syntax("a string with valid escapes")
    }
  }

  /** Whether `expected` is at `at`. */
  private matches(expected: Uint8Array, at: number): boolean {
    const bytes = this.bytes
    for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false
    return true
  }

  /** The slot of the key at the cursor (0 for `timestamp`, 1… for the variables), -1 for another key. */
  private key(): number {
    if (this.bytes[this.at] !== quote) this.syntax("a key in quotes")
    const from = this.skipString()
    if (this.escaped) return this.keys.indexOf(this.unescape(from))
    const length = this.at - 1 - from
    for (let slot = 0; slot < this.keyBytes.length; slot++) {
      const key = this.keyBytes[slot]!
      if (key.length === length && this.matches(key, from)) return slot
    }
    return -1
  }

  private timestamp(): number {
    const code = this.bytes[this.at]!
    if (code !== quote) {
      const from = this.at
      this.value(0)
      const found = describe(code, this.textOf(from, this.at))
      this.fail(`expected an ISO 8601 timestamp such as "2024-01-01T00:00:00", got ${found}`)
    }
    // The API's naive form takes 19 bytes, all checked by `instant`: no quote or escape can hide there.
    if (this.bytes[this.at + 20] === quote) {
      const millis = this.instant(this.at + 1, this.at + 20)
      if (!Number.isNaN(millis)) {
        this.at += 21
        return millis
      }
    }
    const from = this.skipString()
    const text = this.escaped ? this.unescape(from) : undefined
    const millis = text === undefined ? this.instant(from, this.at - 1) : Timestamp.parse(text)
    if (Number.isNaN(millis)) {
      const shown = excerpt(text ?? this.textOf(from, this.at - 1))
      this.fail(`invalid timestamp "${shown}": expected ISO 8601 such as 2024-01-01T00:00:00`)
    }
    return millis
  }

  /**
   * `Timestamp.parse` of the bytes from `from` to `to`. The API's rows come in order, so most share
   * the day of the row before: for its naive form `YYYY-MM-DDTHH:MM:SS` the day's midnight is kept,
   * and a time on that same day is added to it here, the same instant `Timestamp.parse` gives.
   */
  private instant(from: number, to: number): number {
    const bytes = this.bytes
    if (
      to - from === 19 &&
      bytes[from + 4] === minus &&
      bytes[from + 7] === minus &&
      bytes[from + 10] === upperT &&
      bytes[from + 13] === colon &&
      bytes[from + 16] === colon
    ) {
      const day = digitsAt(bytes, from, 4) * 10_000 + digitsAt(bytes, from + 5, 2) * 100 + digitsAt(bytes, from + 8, 2)
      if (day !== this.day) {
        // NaN (not digits) never equals a day; a day that does not exist gives NaN and is not kept.
        const midnight = Timestamp.parse(this.textOf(from, from + 10))
        if (Number.isNaN(midnight)) return Number.NaN
        this.day = day
        this.midnight = midnight
      }
      const hour = digitsAt(bytes, from + 11, 2)
      const minute = digitsAt(bytes, from + 14, 2)
      const second = digitsAt(bytes, from + 17, 2)
      return hour <= 23 && minute <= 59 && second <= 59
        ? this.midnight + hour * 3_600_000 + minute * 60_000 + second * 1000
        : Number.NaN
    }
    return Timestamp.parse(this.textOf(from, to))
  }

  /** A finite number, or `NaN` for `null`. */
  private sensorValue(): number {
    const code = this.bytes[this.at]!
    if (code === minus || isDigit(code)) {
      const from = this.at
      const value = this.number()
      if (!Number.isFinite(value)) this.fail(`${excerpt(this.textOf(from, this.at))} is not a finite number`)
      return value
    }
    if (code === lowerN) {
      this.literal("null")
      return Number.NaN
    }
    if (this.at >= this.bytes.length) this.syntax("a value")
    const from = this.at
    this.value(0)
    this.fail(`expected a number or null, got ${describe(code, this.textOf(from, this.at))}`)
  }

  /**
   * Reads a JSON number. With up to 15 significant digits and a power of ten within ±22, which
   * is every sensor value, the digits as an integer times or divided by an exact power of ten is
   * one correctly rounded operation (Clinger's fast path), so the result is the one `JSON.parse`
   * gives; other numbers go through `Number`.
   */
  private number(): number {
    const bytes = this.bytes
    const from = this.at
    let at = from
    let code = bytes[at]!
    const negative = code === minus
    if (negative) code = bytes[++at]!
    let digits = 0
    let scale = 0
    if (code === zero) {
      code = bytes[++at]!
    } else if (code >= one && code <= nine) {
      do {
        digits = digits * 10 + (code - zero)
        code = bytes[++at]!
      } while (isDigit(code))
    } else {
      this.at = at
      this.syntax("a digit")
    }
    if (code === dot) {
      code = bytes[++at]!
      if (!isDigit(code)) {
        this.at = at
        this.syntax("a digit after '.'")
      }
      do {
        digits = digits * 10 + (code - zero)
        scale--
        code = bytes[++at]!
      } while (isDigit(code))
    }
    if (code === lowerE || code === upperE) {
      code = bytes[++at]!
      let sign = 1
      if (code === plus || code === minus) {
        if (code === minus) sign = -1
        code = bytes[++at]!
      }
      if (!isDigit(code)) {
        this.at = at
        this.syntax("a digit in the exponent")
      }
      let exponent = 0
      do {
        exponent = exponent * 10 + (code - zero)
        code = bytes[++at]!
      } while (isDigit(code))
      scale += sign * exponent
    }
    this.at = at
    if (digits < maxExactInteger && scale >= -22 && scale <= 22) {
      const magnitude = scale < 0 ? digits / powersOfTen[-scale]! : digits * powersOfTen[scale]!
      return negative ? -magnitude : magnitude
    }
    return Number(this.textOf(from, at))
  }

  /** Moves past the string at the cursor; returns where its content starts and sets `escaped`. */
  private skipString(): number {
    const bytes = this.bytes
    const from = this.at + 1
    let at = from
    let escaped = false
    for (;;) {
      const code = bytes[at]!
      if (code === quote) break
      if (code === backslash) {
        escaped = true
        at += 2
      } else if (code >= space) {
        at++
      } else {
        // A raw control character, or the end of the body.
        this.at = Math.min(at, bytes.length)
        this.syntax("a closing quote")
      }
    }
    this.at = at + 1
    this.escaped = escaped
    return from
  }

  /** The value of the string just skipped, whose content starts at `from` and holds an escape. */
  private unescape(from: number): string {
    try {
      return JSON.parse(this.textOf(from - 1, this.at)) as string
    } catch {
      this.at = from - 1
      return this.syntax("a string with valid escapes")
    }
  }

  /** Moves past any JSON value: a key the caller did not ask for, or a value being reported. */
  private value(depth: number): void {
    const bytes = this.bytes
    const code = bytes[this.at]!
    if (code === quote) {
      this.skipString()
    } else if (code === minus || isDigit(code)) {
      this.number()
    } else if (code === lowerN) {
      this.literal("null")
    } else if (code === lowerT) {
      this.literal("true")
    } else if (code === lowerF) {
      this.literal("false")
    } else if (code === openBrace || code === openBracket) {
      if (depth >= maxDepth) this.fail(`values nested more than ${maxDepth} deep`)
      const close = code === openBrace ? closeBrace : closeBracket
      this.at++
      this.whitespace()
      if (bytes[this.at] === close) {
        this.at++
        return
      }
      for (;;) {
        if (close === closeBrace) {
          if (bytes[this.at] !== quote) this.syntax("a key in quotes")
          this.skipString()
          this.whitespace()
          if (bytes[this.at] !== colon) this.syntax("':' after a key")
          this.at++
          this.whitespace()
        }
        this.value(depth + 1)
        this.whitespace()
        const next = bytes[this.at]
        if (next === comma) {
          this.at++
          this.whitespace()
        } else if (next === close) {
          this.at++
          return
        } else {
          this.syntax(close === closeBrace ? "',' or '}'" : "',' or ']'")
        }
      }
    } else {
      this.syntax("a JSON value")
    }
  }

  private literal(word: "null" | "true" | "false"): void {
    const bytes = this.bytes
    for (let i = 0; i < word.length; i++) {
      if (bytes[this.at + i] !== word.charCodeAt(i)) {
        this.at += i
        this.syntax(`"${word}"`)
      }
    }
    this.at += word.length
  }

  private whitespace(): void {
    const bytes = this.bytes
    let at = this.at
    for (;;) {
      const code = bytes[at]
      if (code === space || code === newline || code === carriageReturn || code === tab) at++
      else break
    }
    this.at = at
  }

  private textOf(from: number, to: number): string {
    return utf8.decode(this.bytes.subarray(from, to))
  }

  /** Grows the buffers, or when they hold a whole frame, emits it and starts the next. */
  private makeRoom(): void {
    if (this.capacity === this.frameSize) {
      this.emit()
      this.length = 0
      this.timestamps = new Float64Array(this.capacity)
      this.columns = this.variables.map(() => new Float64Array(this.capacity))
      return
    }
    this.capacity = Math.min(this.frameSize, this.capacity * 2)
    const grow = (buffer: Float64Array) => {
      const grown = new Float64Array(this.capacity)
      grown.set(buffer)
      return grown
    }
    this.timestamps = grow(this.timestamps)
    this.columns = this.columns.map(grow)
  }

  private emit(): void {
    const length = this.length
    // A part-filled buffer is copied to its length, so a frame holds no spare memory.
    const cut = (buffer: Float64Array) => (length === buffer.length ? buffer : buffer.slice(0, length))
    this.frames.push(
      SampleFrame.make(
        cut(this.timestamps),
        Object.fromEntries(this.variables.map((variable, v) => [variable, cut(this.columns[v]!)])),
        this.frameAsset
      )
    )
  }

  private fail(reason: string): never {
    throw new Invalid(reason, this.row, this.field)
  }

  private syntax(expected: string): never {
    if (this.at >= this.bytes.length) return this.fail("the body ends before its JSON does (truncated)")
    const found = excerpt(this.textOf(this.at, this.at + 20))
    return this.fail(`invalid JSON at byte ${this.at}: expected ${expected}, found ${JSON.stringify(found)}`)
  }
}
