/**
 * Tidy (long) rows `{ timestamp, signal, value }` of one partition (so of one asset, when it has
 * one): the output of the transform and the input of a sink. Held columnar, with signals
 * dictionary-encoded, so a year of rows is three typed arrays and a short list of names rather
 * than a million objects.
 */
import * as Schema from "effect/Schema"
import { AssetId } from "./Asset.ts"
import { IsoTimestamp } from "./Sample.ts"
import { SignalName } from "./Signal.ts"
import * as Timestamp from "./Timestamp.ts"

/** One tidy row as an object: the window start (ISO, UTC), the signal, a finite value, and its asset if any. */
export const TidyRow = Schema.Struct({
  timestamp: IsoTimestamp,
  signal: SignalName,
  value: Schema.Finite,
  asset: Schema.optionalKey(AssetId)
})
export type TidyRow = typeof TidyRow.Type

export interface TidyRows {
  readonly length: number
  /** The asset every row belongs to; absent for the source's default series. */
  readonly asset?: AssetId | undefined
  /** Window starts, epoch milliseconds. */
  readonly timestamps: Float64Array
  /** The signal names the rows use; `signalIndex[i]` points into it. */
  readonly signals: ReadonlyArray<SignalName>
  readonly signalIndex: Uint16Array
  /** Always finite. */
  readonly values: Float64Array
}

export const empty: TidyRows = {
  length: 0,
  timestamps: new Float64Array(0),
  signals: [],
  signalIndex: new Uint16Array(0),
  values: new Float64Array(0)
}

/** The signal of row `i`. */
export const signalAt = (rows: TidyRows, i: number): SignalName => rows.signals[rows.signalIndex[i]!]!

/** The rows as objects, in order (each with `asset` when the rows have one). */
export const toArray = (rows: TidyRows): Array<TidyRow> => {
  const out: Array<TidyRow> = new Array(rows.length)
  const asset = rows.asset
  for (let i = 0; i < rows.length; i++) {
    const row = { timestamp: Timestamp.format(rows.timestamps[i]!), signal: signalAt(rows, i), value: rows.values[i]! }
    out[i] = asset === undefined ? row : { ...row, asset }
  }
  return out
}

/**
 * Columnar rows (of `asset`, when given) from objects. Throws a `RangeError` naming the row for a
 * timestamp that cannot be read or a value that is not finite.
 */
export const fromArray = (
  rows: ReadonlyArray<{
    readonly timestamp: string | number | Date
    readonly signal: SignalName
    readonly value: number
  }>,
  asset?: AssetId | undefined
): TidyRows => {
  const timestamps = new Float64Array(rows.length)
  const values = new Float64Array(rows.length)
  const signalIndex = new Uint16Array(rows.length)
  const signals: Array<SignalName> = []
  const indexOf = new Map<SignalName, number>()
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!
    const t =
      typeof row.timestamp === "number"
        ? row.timestamp
        : row.timestamp instanceof Date
          ? row.timestamp.getTime()
          : Timestamp.parse(row.timestamp)
    if (Number.isNaN(t)) throw new RangeError(`row ${i}: invalid timestamp ${JSON.stringify(row.timestamp)}`)
    if (!Number.isFinite(row.value)) throw new RangeError(`row ${i}: value ${row.value} is not finite`)
    let index = indexOf.get(row.signal)
    if (index === undefined) {
      index = signals.push(row.signal) - 1
      indexOf.set(row.signal, index)
    }
    timestamps[i] = t
    values[i] = row.value
    signalIndex[i] = index
  }
  return asset === undefined
    ? { length: rows.length, timestamps, signals, signalIndex, values }
    : { length: rows.length, asset, timestamps, signals, signalIndex, values }
}
