/**
 * The columnar form of samples, the shape the hot path works on: one `Float64Array` of epoch
 * milliseconds and one `Float64Array` per variable, `NaN` for a missing value. Chunks of a stream
 * are frames; nothing per sample is allocated once data is in this form.
 */
import type { AssetId } from "./Asset.ts"
import type { SampleRow } from "./Sample.ts"
import type { Variable } from "./Signal.ts"
import * as Timestamp from "./Timestamp.ts"

export interface SampleFrame {
  readonly length: number
  /** The asset (turbine) all of the frame's samples belong to; absent for the source's default series. */
  readonly asset?: AssetId | undefined
  /** Epoch milliseconds, in any order. */
  readonly timestamps: Float64Array
  /** One column per variable, as long as `timestamps`; `NaN` marks a missing value. */
  readonly columns: { readonly [variable: string]: Float64Array }
}

/** Builds a frame from columns, checking that every column is as long as the timestamps. */
export const make = (
  timestamps: Float64Array,
  columns: { readonly [variable: string]: Float64Array },
  asset?: AssetId | undefined
): SampleFrame => {
  for (const [variable, column] of Object.entries(columns)) {
    if (column.length !== timestamps.length) {
      throw new RangeError(
        `column "${variable}" has ${column.length} values for ${timestamps.length} timestamps; a frame's columns must be as long as its timestamps`
      )
    }
  }
  return asset === undefined
    ? { length: timestamps.length, timestamps, columns }
    : { length: timestamps.length, asset, timestamps, columns }
}

/** The same samples, of `asset`. */
export const withAsset = (frame: SampleFrame, asset: AssetId | undefined): SampleFrame =>
  make(frame.timestamps, frame.columns, asset)

/** A frame with no samples. */
export const empty = (variables: ReadonlyArray<Variable>): SampleFrame =>
  make(new Float64Array(0), Object.fromEntries(variables.map((variable) => [variable, new Float64Array(0)])))

/** The variables a frame carries, in column order. */
export const variables = (frame: SampleFrame): Array<Variable> => Object.keys(frame.columns) as Array<Variable>

const toMillis = (timestamp: unknown): number =>
  typeof timestamp === "number"
    ? timestamp
    : typeof timestamp === "string"
      ? Timestamp.parse(timestamp)
      : timestamp instanceof Date
        ? timestamp.getTime()
        : Number.NaN

/**
 * Builds a frame from sample rows. A timestamp may be ISO text, a `Date` or epoch milliseconds; a
 * value that is `null`, absent or not a finite number is missing. A row whose timestamp cannot be
 * read throws a `RangeError` naming the row (decode rows with `Sample.schemaFor` first to get a
 * typed error instead).
 */
export const fromRows = (
  rows: ReadonlyArray<{ readonly timestamp: string | number | Date; readonly [variable: string]: unknown }>,
  variables: ReadonlyArray<Variable>
): SampleFrame => {
  const timestamps = new Float64Array(rows.length)
  const columns = variables.map(() => new Float64Array(rows.length))
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!
    const millis = toMillis(row.timestamp)
    if (Number.isNaN(millis)) throw new RangeError(`row ${i}: invalid timestamp ${JSON.stringify(row.timestamp)}`)
    timestamps[i] = millis
    for (let v = 0; v < variables.length; v++) {
      const value = row[variables[v]!]
      columns[v]![i] = typeof value === "number" && Number.isFinite(value) ? value : Number.NaN
    }
  }
  return make(timestamps, Object.fromEntries(variables.map((variable, v) => [variable, columns[v]!])))
}

/** The rows of a frame, in its order: ISO timestamps (UTC, `Z`), `null` for missing values. */
export const toRows = (frame: SampleFrame): Array<SampleRow> => {
  const names = Object.keys(frame.columns)
  const out: Array<SampleRow> = []
  for (let i = 0; i < frame.length; i++) {
    const row: Record<string, string | number | null> = { timestamp: Timestamp.format(frame.timestamps[i]!) }
    for (const name of names) {
      const value = frame.columns[name]![i]!
      row[name] = Number.isNaN(value) ? null : value
    }
    out.push(row as SampleRow)
  }
  return out
}

/** Samples `start` (inclusive) to `end` (exclusive) of a frame, as views that share its memory. */
export const slice = (frame: SampleFrame, start: number, end: number): SampleFrame =>
  make(
    frame.timestamps.subarray(start, end),
    Object.fromEntries(Object.entries(frame.columns).map(([name, column]) => [name, column.subarray(start, end)])),
    frame.asset
  )

/** Cuts a frame into frames of at most `size` samples (views, no copy). */
export const chunks = (frame: SampleFrame, size: number): Array<SampleFrame> => {
  const out: Array<SampleFrame> = []
  for (let start = 0; start < frame.length; start += size)
    out.push(slice(frame, start, Math.min(frame.length, start + size)))
  return out
}

/**
 * One frame holding the samples of several, in order; variables absent from a frame are missing
 * there. The frames are of one asset (the result's); concatenating different assets is an error.
 */
export const concat = (frames: ReadonlyArray<SampleFrame>, variables: ReadonlyArray<Variable>): SampleFrame => {
  const asset = frames[0]?.asset
  if (frames.some((frame) => frame.asset !== asset)) {
    throw new RangeError("SampleFrame.concat: the frames are of different assets; keep one frame per asset")
  }
  const length = frames.reduce((total, frame) => total + frame.length, 0)
  const timestamps = new Float64Array(length)
  const columns = Object.fromEntries(variables.map((variable) => [variable, new Float64Array(length).fill(Number.NaN)]))
  let offset = 0
  for (const frame of frames) {
    timestamps.set(frame.timestamps, offset)
    for (const variable of variables) {
      const column = frame.columns[variable]
      if (column !== undefined) columns[variable]!.set(column, offset)
    }
    offset += frame.length
  }
  return make(timestamps, columns, asset)
}
