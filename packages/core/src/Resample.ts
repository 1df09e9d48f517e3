/**
 * Downsampling a partition's samples into windows: count, mean, min, max and sample standard
 * deviation per window and variable, in one pass, whatever the order or chunking of the input.
 *
 * Accuracy: each window keeps its first valid value `k` as a shift and sums `x - k` and
 * `(x - k)^2`. Shifting by a member of the window keeps the sums small, so the variance does not
 * cancel catastrophically (values near 1e9 with a spread of 1e-3 keep ~1e-15 relative accuracy,
 * where a plain sum of squares loses every digit and pandas' running variance keeps ~1e-4).
 */
import type { TimeRange } from "./Partition.ts"
import type { SampleFrame } from "./SampleFrame.ts"
import { defaultStatistics, type Statistic, type Variable } from "./Signal.ts"
import * as Window from "./Window.ts"

export interface ResampleOptions {
  /** The partition's instants; samples outside are ignored. */
  readonly range: TimeRange
  /** The variables to aggregate; a variable a frame lacks is missing in that frame. */
  readonly variables: ReadonlyArray<Variable>
  /** The window length; ten minutes by default. */
  readonly every?: Window.WindowLength | undefined
  /** The statistics to keep; `mean`, `min`, `max`, `std` by default. */
  readonly statistics?: ReadonlyArray<Statistic> | undefined
}

/** The statistics of one variable, one entry per window; `NaN` where a window has no value. */
export interface VariableWindows {
  /** Valid samples per window. */
  readonly count: Float64Array
  readonly mean: Float64Array
  readonly min: Float64Array
  readonly max: Float64Array
  /** Sample standard deviation (ddof = 1); `NaN` with fewer than two samples. */
  readonly std: Float64Array
}

/** The result of resampling one partition. */
export interface Windows {
  readonly grid: Window.WindowGrid
  readonly variables: ReadonlyArray<Variable>
  readonly statistics: ReadonlyArray<Statistic>
  readonly columns: { readonly [variable: string]: VariableWindows }
  /** Samples inside the partition. */
  readonly samples: number
  /** Samples outside the partition, ignored. */
  readonly ignored: number
  /** Samples inside the partition whose timestamp an earlier sample already had (each aggregated). */
  readonly duplicates: number
  /** Windows with at least one valid value of some variable. */
  readonly windowsWithData: number
}

// Per window and variable, six slots: count, shift, sum(x - shift), sum((x - shift)^2), min, max.
const COUNT = 0
const SHIFT = 1
const SUM = 2
const SQUARES = 3
const MIN = 4
const MAX = 5
const SLOTS = 6

/**
 * A resampler for one partition. `add` takes the partition's samples chunk by chunk, in any order;
 * `result` gives the windows. The result does not depend on how the input was chunked or ordered
 * (up to the last bits of mean and std, whose shift is the first value a window sees).
 */
export class Resampler {
  readonly grid: Window.WindowGrid
  readonly variables: ReadonlyArray<Variable>
  readonly statistics: ReadonlyArray<Statistic>
  private readonly accumulators: Array<Float64Array>
  private windowIndex = new Int32Array(0)
  private samples = 0
  private ignored = 0
  private duplicates = 0
  private latest = Number.NEGATIVE_INFINITY
  private ordered = true
  // Only kept to count duplicates when the input is not in time order.
  private readonly timestampChunks: Array<Float64Array> = []

  constructor(options: ResampleOptions) {
    this.grid = Window.grid(options.range, options.every ?? Window.defaultWindowLength)
    this.variables = [...new Set(options.variables)]
    this.statistics = [...new Set(options.statistics ?? defaultStatistics)]
    this.accumulators = this.variables.map(() => new Float64Array(this.grid.count * SLOTS))
  }

  /** Adds a chunk of samples. */
  add(frame: SampleFrame): this {
    const length = frame.length
    if (length === 0) return this
    if (this.windowIndex.length < length)
      this.windowIndex = new Int32Array(Math.max(length, this.windowIndex.length * 2))
    const windowIndex = this.windowIndex
    const timestamps = frame.timestamps
    const { start, end, every } = this.grid
    let inside = 0
    let latest = this.latest
    let ordered = this.ordered
    let duplicates = 0
    for (let i = 0; i < length; i++) {
      const t = timestamps[i]!
      if (t >= start && t < end) {
        windowIndex[i] = Math.floor((t - start) / every)
        inside++
        if (t > latest) latest = t
        else if (t === latest) duplicates++
        else ordered = false
      } else {
        windowIndex[i] = -1
      }
    }
    this.samples += inside
    this.ignored += length - inside
    this.latest = latest
    this.duplicates += duplicates
    this.ordered = ordered
    this.timestampChunks.push(timestamps)
    if (inside === 0) return this
    for (let v = 0; v < this.variables.length; v++) {
      const column = frame.columns[this.variables[v]!]
      if (column !== undefined) accumulate(this.accumulators[v]!, windowIndex, column, length)
    }
    return this
  }

  /** The windows of everything added so far. */
  result(): Windows {
    const windows = this.grid.count
    const columns: Record<string, VariableWindows> = {}
    const hasData = new Uint8Array(windows)
    for (let v = 0; v < this.variables.length; v++) {
      const accumulator = this.accumulators[v]!
      const count = new Float64Array(windows)
      const mean = new Float64Array(windows)
      const min = new Float64Array(windows)
      const max = new Float64Array(windows)
      const std = new Float64Array(windows)
      for (let w = 0, at = 0; w < windows; w++, at += SLOTS) {
        const n = accumulator[at + COUNT]!
        count[w] = n
        if (n === 0) {
          mean[w] = min[w] = max[w] = std[w] = Number.NaN
          continue
        }
        hasData[w] = 1
        const sum = accumulator[at + SUM]!
        mean[w] = accumulator[at + SHIFT]! + sum / n
        min[w] = accumulator[at + MIN]!
        max[w] = accumulator[at + MAX]!
        std[w] = n < 2 ? Number.NaN : Math.sqrt(Math.max(0, (accumulator[at + SQUARES]! - (sum * sum) / n) / (n - 1)))
      }
      columns[this.variables[v]!] = { count, mean, min, max, std }
    }
    let windowsWithData = 0
    for (let w = 0; w < windows; w++) windowsWithData += hasData[w]!
    return {
      grid: this.grid,
      variables: this.variables,
      statistics: this.statistics,
      columns,
      samples: this.samples,
      ignored: this.ignored,
      duplicates: this.ordered ? this.duplicates : this.countDuplicates(),
      windowsWithData
    }
  }

  private countDuplicates(): number {
    const { start, end } = this.grid
    const inside = new Float64Array(this.samples)
    let at = 0
    for (const chunk of this.timestampChunks) {
      for (let i = 0; i < chunk.length; i++) {
        const t = chunk[i]!
        if (t >= start && t < end) inside[at++] = t
      }
    }
    inside.sort()
    let duplicates = 0
    for (let i = 1; i < inside.length; i++) if (inside[i] === inside[i - 1]) duplicates++
    return duplicates
  }
}

// The hot loop: one pass over a column, bucketing by the precomputed window index.
const accumulate = (accumulator: Float64Array, windowIndex: Int32Array, column: Float64Array, length: number) => {
  for (let i = 0; i < length; i++) {
    const w = windowIndex[i]!
    const x = column[i]!
    // Skips samples outside the partition, NaN and ±Infinity (x - x is NaN for all three).
    if (w < 0 || x - x !== 0) continue
    const at = w * SLOTS
    const n = accumulator[at]!
    if (n === 0) {
      accumulator[at] = 1
      accumulator[at + SHIFT] = x
      accumulator[at + MIN] = x
      accumulator[at + MAX] = x
      continue
    }
    const d = x - accumulator[at + SHIFT]!
    accumulator[at] = n + 1
    accumulator[at + SUM]! += d
    accumulator[at + SQUARES]! += d * d
    if (x < accumulator[at + MIN]!) accumulator[at + MIN] = x
    else if (x > accumulator[at + MAX]!) accumulator[at + MAX] = x
  }
}

/** A resampler to feed chunk by chunk. */
export const make = (options: ResampleOptions): Resampler => new Resampler(options)

/** Resamples a partition given as one frame or as several chunks. */
export const resample = (input: SampleFrame | Iterable<SampleFrame>, options: ResampleOptions): Windows => {
  const resampler = new Resampler(options)
  if (isFrame(input)) resampler.add(input)
  else for (const frame of input) resampler.add(frame)
  return resampler.result()
}

const isFrame = (input: SampleFrame | Iterable<SampleFrame>): input is SampleFrame =>
  (input as SampleFrame).timestamps instanceof Float64Array
