/**
 * Unpivoting windows into tidy rows: each (window, variable, statistic) with a value becomes
 * `{ timestamp: window start, signal: "<variable>_<statistic>", value }`, ordered by timestamp
 * then signal name, as the reference's melt sorted. Empty windows and single-sample `std` give
 * no row, and no row ever holds NaN or ±Infinity.
 */
import type { Windows } from "./Resample.ts"
import type { SignalName } from "./Signal.ts"
import type { TidyRows } from "./TidyRows.ts"

/** The signals a result can produce, sorted: what a sink owns for this partition. */
export const signalsOf = (windows: Windows): Array<SignalName> => windows.series.map((series) => series.signal)

/** The tidy rows of a resample result. */
export const unpivot = (windows: Windows): TidyRows => {
  const series = windows.series
  const windowCount = windows.grid.count
  const capacity = windowCount * series.length
  // One allocation carved into the three columns.
  const buffer = new ArrayBuffer(capacity * 18)
  const timestamps = new Float64Array(buffer, 0, capacity)
  const values = new Float64Array(buffer, capacity * 8, capacity)
  const signalIndex = new Uint16Array(buffer, capacity * 16, capacity)
  const counts = series.map((entry) => windows.columns[entry.variable]!.count)
  const statistics = series.map((entry) => windows.columns[entry.variable]![entry.statistic]!)
  const { start, every } = windows.grid
  let length = 0
  for (let w = 0; w < windowCount; w++) {
    const timestamp = start + w * every
    for (let s = 0; s < series.length; s++) {
      const value = statistics[s]![w]!
      // An empty window has no row, not even a zero count; NaN (a single sample's std) and
      // ±Infinity (an overflowing sum) are never written.
      if (counts[s]![w] === 0 || value - value !== 0) continue
      timestamps[length] = timestamp
      signalIndex[length] = s
      values[length] = value
      length++
    }
  }
  return {
    length,
    ...(windows.asset === undefined ? {} : { asset: windows.asset }),
    timestamps: timestamps.subarray(0, length),
    signals: series.map((entry) => entry.signal),
    signalIndex: signalIndex.subarray(0, length),
    values: values.subarray(0, length)
  }
}
