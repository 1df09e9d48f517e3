/**
 * Unpivoting windows into tidy rows: each (window, variable, statistic) with a value becomes
 * `{ timestamp: window start, signal: "<variable>_<statistic>", value }`, ordered by timestamp
 * then signal name, as the reference's melt sorted. Empty windows and single-sample `std` give
 * no row, and no row ever holds NaN or ±Infinity.
 */
import type { Windows } from "./Resample.ts"
import { type SignalName, type Statistic, signalName } from "./Signal.ts"
import type { TidyRows } from "./TidyRows.ts"

interface Series {
  readonly signal: SignalName
  readonly values: Float64Array
  readonly count: Float64Array
}

/** The (variable, statistic) series of a result, sorted by signal name. */
const seriesOf = (windows: Windows): Array<Series> => {
  const series: Array<Series> = []
  for (const variable of windows.variables) {
    const column = windows.columns[variable]!
    for (const statistic of windows.statistics) {
      series.push({
        signal: signalName(variable, statistic),
        values: column[statistic satisfies Statistic],
        count: column.count
      })
    }
  }
  return series.sort((a, b) => (a.signal < b.signal ? -1 : a.signal > b.signal ? 1 : 0))
}

/** The signals a result can produce, sorted: what a sink owns for this partition. */
export const signalsOf = (windows: Windows): Array<SignalName> => seriesOf(windows).map((series) => series.signal)

/** The tidy rows of a resample result. */
export const unpivot = (windows: Windows): TidyRows => {
  const series = seriesOf(windows)
  const windowCount = windows.grid.count
  const capacity = windowCount * series.length
  const timestamps = new Float64Array(capacity)
  const signalIndex = new Uint16Array(capacity)
  const values = new Float64Array(capacity)
  const { start, every } = windows.grid
  let length = 0
  for (let w = 0; w < windowCount; w++) {
    const timestamp = start + w * every
    for (let s = 0; s < series.length; s++) {
      const { count, values: statistic } = series[s]!
      const value = statistic[w]!
      // An empty window has no row, not even a zero count; NaN (a single sample's std) and
      // ±Infinity (an overflowing sum) are never written.
      if (count[w] === 0 || value - value !== 0) continue
      timestamps[length] = timestamp
      signalIndex[length] = s
      values[length] = value
      length++
    }
  }
  return {
    length,
    timestamps: timestamps.subarray(0, length),
    signals: series.map((entry) => entry.signal),
    signalIndex: signalIndex.subarray(0, length),
    values: values.subarray(0, length)
  }
}
