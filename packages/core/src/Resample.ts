/**
 * Downsampling a partition's samples into windows: count, mean, min, max and sample standard
 * deviation per window and variable, in one pass, whatever the order or chunking of the input.
 *
 * Accuracy: each window keeps its first valid value `k` as a shift and sums `x - k` and
 * `(x - k)^2`. Shifting by a member of the window keeps the sums small, so the variance does not
 * cancel catastrophically (values near 1e9 with a spread of 1e-3 keep ~1e-15 relative accuracy,
 * where a plain sum of squares loses every digit and pandas' running variance keeps ~1e-4).
 * Differences beyond about 1e135 (whose squares overflow) or below about 1e-135 (whose squares
 * vanish) are summed scaled by a power of two instead, so any finite values keep that accuracy.
 */
import type { AssetId } from "./Asset.ts"
import type { TimeRange } from "./Partition.ts"
import type { SampleFrame } from "./SampleFrame.ts"
import * as SampleFrameModule from "./SampleFrame.ts"
import { defaultStatistics, type SignalName, type Statistic, signalName, type Variable } from "./Signal.ts"
import * as Window from "./Window.ts"

export interface ResampleOptions {
  /** The partition's instants; samples outside are ignored. */
  readonly range: TimeRange
  /** The asset whose samples these are, carried into the result; none for the default series. */
  readonly asset?: AssetId | undefined
  /** The variables to aggregate; a variable a frame lacks is missing in that frame. */
  readonly variables: ReadonlyArray<Variable>
  /** The window length; ten minutes by default. */
  readonly every?: Window.WindowLength | undefined
  /** The statistics to keep; `mean`, `min`, `max`, `std` by default. */
  readonly statistics?: ReadonlyArray<Statistic> | undefined
  /**
   * The source's sampling interval in milliseconds, for `coverage` (valid samples ÷ samples a window
   * of this length should have); one minute by default.
   */
  readonly cadence?: number | undefined
  /** Keep the partition's samples, for `sortedSamples()` (quality checks read them); off by default. */
  readonly keepSamples?: boolean | undefined
}

/** One minute, the fonte API's sampling interval. */
export const defaultCadence = 60_000

/** The statistics of one variable, one entry per window; `NaN` where a window has no value. */
export interface VariableWindows {
  /** Valid samples per window. */
  readonly count: Float64Array
  readonly mean: Float64Array
  readonly min: Float64Array
  readonly max: Float64Array
  /** Sample standard deviation (ddof = 1); `NaN` with fewer than two samples. */
  readonly std: Float64Array
  /** Valid samples ÷ the samples the window should have at the cadence; only when `coverage` is asked. */
  readonly coverage?: Float64Array | undefined
}

/** One output signal: a variable's statistic. */
export interface Series {
  readonly signal: SignalName
  readonly variable: Variable
  readonly statistic: Statistic
}

/** The result of resampling one partition. */
export interface Windows {
  /** The partition's asset, when it has one. */
  readonly asset?: AssetId | undefined
  readonly grid: Window.WindowGrid
  readonly variables: ReadonlyArray<Variable>
  readonly statistics: ReadonlyArray<Statistic>
  /** Every (variable, statistic) asked for, sorted by signal name: the order of the tidy rows. */
  readonly series: ReadonlyArray<Series>
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

// Per window and variable, seven slots: count, shift, sum(d), sum(d^2), min, max and a scale `e`,
// where d = (x - shift) * 2^e. The scale is 0 (d = x - shift) unless the differences are too large
// or too small to square (see `sumScaled`).
// Each slot is a column of one entry per window, so `result` turns the columns into statistics in
// place (sum becomes mean, squares become std) and hands out views: no copy, no allocation.
const COUNT = 0
const SHIFT = 1
const SUM = 2
const SQUARES = 3
const MIN = 4
const MAX = 5
const SCALE = 6
const SLOTS = 7

// Unscaled sums are right while every |x - shift| stays within about 2^±450: then no square
// overflows, and squares below the smallest normal double are too small beside the total to matter.
// A window whose squares leave [2^-900, 2^900) (with values that differ) may be past that.
const SQUARES_LOW = 2 ** -900
const SQUARES_HIGH = 2 ** 900

interface Shape {
  readonly variables: ReadonlyArray<Variable>
  readonly statistics: ReadonlyArray<Statistic>
  readonly series: ReadonlyArray<Series>
}

// A pipeline resamples many partitions of one shape: work out its sorted series once.
const shapes = new Map<string, Shape>()

const shapeOf = (variables: ReadonlyArray<Variable>, statistics: ReadonlyArray<Statistic>): Shape => {
  const key = `${variables.join(",")}|${statistics.join(",")}`
  let shape = shapes.get(key)
  if (shape === undefined) {
    const uniqueVariables = [...new Set(variables)]
    const uniqueStatistics = [...new Set(statistics)]
    shape = {
      variables: uniqueVariables,
      statistics: uniqueStatistics,
      series: uniqueVariables
        .flatMap((variable) =>
          uniqueStatistics.map((statistic) => ({ signal: signalName(variable, statistic), variable, statistic }))
        )
        .sort((a, b) => (a.signal < b.signal ? -1 : a.signal > b.signal ? 1 : 0))
    }
    if (shapes.size < 256) shapes.set(key, shape)
  }
  return shape
}

// Scratch space for the segments of the chunk being added, shared by all resamplers: `add` runs
// to completion synchronously, so no two chunks ever use it at once.
// Allocated on first use: importing the module allocates nothing.
let segmentScratch = { window: new Int32Array(0), end: new Int32Array(0) }

/**
 * A resampler for one partition. `add` takes the partition's samples chunk by chunk, in any order;
 * `result` gives the windows. The result does not depend on how the input was chunked or ordered
 * (up to the last bits of mean and std, whose shift is the first value a window sees).
 */
export class Resampler {
  readonly asset: AssetId | undefined
  readonly grid: Window.WindowGrid
  readonly variables: ReadonlyArray<Variable>
  readonly statistics: ReadonlyArray<Statistic>
  readonly series: ReadonlyArray<Series>
  // All variables' slots in one buffer: slot k of window w of variable v is at (v * SLOTS + k) * count + w.
  private readonly accumulators: Float64Array
  private finished: Windows | undefined
  private samples = 0
  private ignored = 0
  private duplicates = 0
  private latest = Number.NEGATIVE_INFINITY
  private ordered = true
  // Only kept to count duplicates when the input is not in time order.
  private readonly timestampChunks: Array<Float64Array> = []
  private readonly cadence: number
  // The frames added, when `keepSamples`: `sortedSamples()` reads them.
  private readonly kept: Array<SampleFrame> | undefined

  constructor(options: ResampleOptions) {
    this.asset = options.asset
    this.grid = Window.grid(options.range, options.every ?? Window.defaultWindowLength)
    const shape = shapeOf(options.variables, options.statistics ?? defaultStatistics)
    this.variables = shape.variables
    this.statistics = shape.statistics
    this.series = shape.series
    this.accumulators = new Float64Array(this.variables.length * this.grid.count * SLOTS)
    this.cadence = options.cadence ?? defaultCadence
    this.kept = options.keepSamples === true ? [] : undefined
  }

  /** Adds a chunk of samples. */
  add(frame: SampleFrame): this {
    const length = frame.length
    if (this.finished !== undefined) throw new Error("Resampler.add after result: a resampler is for one partition")
    if (length === 0) return this
    const segments = this.segment(frame.timestamps, length)
    this.timestampChunks.push(frame.timestamps)
    this.kept?.push(frame)
    if (segments === 0) return this
    for (let v = 0; v < this.variables.length; v++) {
      const column = frame.columns[this.variables[v]!]
      if (column !== undefined) {
        accumulate(
          this.accumulators,
          v * SLOTS * this.grid.count,
          this.grid.count,
          segmentScratch.window,
          segmentScratch.end,
          segments,
          column
        )
      }
    }
    return this
  }

  /**
   * Cuts a chunk into segments of consecutive samples that fall in the same window (a sorted day
   * has one segment per window; unsorted input has more, and gives the same result). Counts the
   * samples inside and outside the partition and the duplicates on the way.
   */
  private segment(timestamps: Float64Array, length: number): number {
    if (segmentScratch.window.length < length) {
      const size = Math.max(length, segmentScratch.window.length * 2)
      segmentScratch = { window: new Int32Array(size), end: new Int32Array(size) }
    }
    const segmentWindow = segmentScratch.window
    const segmentEnd = segmentScratch.end
    const { every, start } = this.grid
    const span = this.grid.end - start
    let segments = 0
    let current = -2
    let inside = 0
    let latest = this.latest
    let ordered = this.ordered
    let duplicates = 0
    // The current window's bounds (offsets from the start): a sample inside them needs no division.
    let low = 0
    let high = -1
    for (let i = 0; i < length; i++) {
      const t = timestamps[i]!
      const offset = t - start
      let w = current
      if (!(offset >= low && offset < high)) {
        // NaN offsets fail both tests and are ignored with the samples outside.
        if (offset >= 0 && offset < span) {
          w = Math.floor(offset / every)
          low = w * every
          high = Math.min(low + every, span)
        } else {
          w = -1
          low = 0
          high = -1
        }
      }
      if (w >= 0) {
        inside++
        if (t > latest) latest = t
        else if (t === latest) duplicates++
        else ordered = false
      }
      if (w !== current) {
        if (segments > 0) segmentEnd[segments - 1] = i
        segmentWindow[segments++] = w
        current = w
      }
    }
    segmentEnd[segments - 1] = length
    this.samples += inside
    this.ignored += length - inside
    this.latest = latest
    this.duplicates += duplicates
    this.ordered = ordered
    return inside === 0 ? 0 : segments
  }

  /** The windows of everything added; after it the resampler takes no more input. */
  result(): Windows {
    if (this.finished !== undefined) return this.finished
    const windows = this.grid.count
    const columns: Record<string, VariableWindows> = {}
    const hasData = new Uint8Array(windows)
    const slots = this.accumulators
    const withCoverage = this.statistics.includes("coverage")
    for (let v = 0; v < this.variables.length; v++) {
      const base = v * SLOTS * windows
      const column = (slot: number) => slots.subarray(base + slot * windows, base + (slot + 1) * windows)
      const count = column(COUNT)
      const shift = column(SHIFT)
      const mean = column(SUM)
      const std = column(SQUARES)
      const min = column(MIN)
      const max = column(MAX)
      const scale = column(SCALE)
      for (let w = 0; w < windows; w++) {
        const n = count[w]!
        if (n === 0) {
          mean[w] = min[w] = max[w] = std[w] = Number.NaN
          continue
        }
        hasData[w] = 1
        const sum = mean[w]!
        const squares = std[w]!
        const deviation = n < 2 ? Number.NaN : Math.sqrt(Math.max(0, (squares - (sum * sum) / n) / (n - 1)))
        const e = scale[w]!
        if (e === 0) {
          mean[w] = shift[w]! + sum / n
          std[w] = deviation
        } else {
          // mean - shift may pass the largest double when the shift is one end of a range that does.
          const m = shift[w]! + timesPowerOfTwo(sum / n, -e)
          mean[w] = Number.isFinite(m) ? m : 2 * (shift[w]! * 0.5 + timesPowerOfTwo(sum / n, -e - 1))
          // Infinity when the std itself passes the largest double: then it has no row.
          std[w] = timesPowerOfTwo(deviation, -e)
        }
      }
      columns[this.variables[v]!] = withCoverage
        ? { count, mean, min, max, std, coverage: coverageOf(count, this.grid, this.cadence) }
        : { count, mean, min, max, std }
    }
    let windowsWithData = 0
    for (let w = 0; w < windows; w++) windowsWithData += hasData[w]!
    this.finished = {
      ...(this.asset === undefined ? {} : { asset: this.asset }),
      grid: this.grid,
      variables: this.variables,
      statistics: this.statistics,
      series: this.series,
      columns,
      samples: this.samples,
      ignored: this.ignored,
      duplicates: this.ordered ? this.duplicates : this.countDuplicates(),
      windowsWithData
    }
    this.timestampChunks.length = 0
    return this.finished
  }

  /**
   * The samples inside the partition, in time order (input order among equal timestamps), every
   * variable of the resampler (`NaN` where missing). Needs `keepSamples`.
   */
  sortedSamples(): SampleFrame {
    if (this.kept === undefined) throw new Error("Resampler.sortedSamples needs the option keepSamples")
    const { end, start } = this.grid
    // One frame in time order, all of it inside: it is the answer, without a copy.
    const only = this.kept.length === 1 ? this.kept[0]! : undefined
    if (only !== undefined && this.ordered && this.ignored === 0 && only.length === this.samples) {
      return SampleFrameModule.make(
        only.timestamps,
        Object.fromEntries(
          this.variables.map((variable) => [
            variable,
            only.columns[variable] ?? new Float64Array(only.length).fill(Number.NaN)
          ])
        ),
        this.asset
      )
    }
    const timestamps = new Float64Array(this.samples)
    const columns = this.variables.map(() => new Float64Array(this.samples))
    let at = 0
    for (const frame of this.kept) {
      const values = this.variables.map((variable) => frame.columns[variable])
      for (let i = 0; i < frame.length; i++) {
        const t = frame.timestamps[i]!
        if (!(t >= start && t < end)) continue
        timestamps[at] = t
        for (let v = 0; v < values.length; v++) columns[v]![at] = values[v] === undefined ? Number.NaN : values[v]![i]!
        at++
      }
    }
    if (!this.ordered) {
      const order = Array.from({ length: at }, (_, i) => i).sort((a, b) => timestamps[a]! - timestamps[b]! || a - b)
      const sortedTimestamps = Float64Array.from(order, (i) => timestamps[i]!)
      const sortedColumns = columns.map((column) => Float64Array.from(order, (i) => column[i]!))
      return SampleFrameModule.make(
        sortedTimestamps,
        Object.fromEntries(this.variables.map((variable, v) => [variable, sortedColumns[v]!])),
        this.asset
      )
    }
    return SampleFrameModule.make(
      timestamps,
      Object.fromEntries(this.variables.map((variable, v) => [variable, columns[v]!])),
      this.asset
    )
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

// The hot loop: per segment (a run of samples in one window), the window's sums live in locals.
const accumulate = (
  slots: Float64Array,
  base: number,
  windows: number,
  segmentWindow: Int32Array,
  segmentEnd: Int32Array,
  segments: number,
  column: Float64Array
) => {
  const countAt = base + COUNT * windows
  const shiftAt = base + SHIFT * windows
  const sumAt = base + SUM * windows
  const squaresAt = base + SQUARES * windows
  const minAt = base + MIN * windows
  const maxAt = base + MAX * windows
  const scaleAt = base + SCALE * windows
  // Segments of windows that need scaled sums, summed after the loop: a call inside it would cost the
  // loop ~2% even when never made.
  if (deferredScratch.length < segments)
    deferredScratch = new Int32Array(Math.max(segments, deferredScratch.length * 2))
  const deferred = deferredScratch
  let deferredCount = 0
  let i = 0
  for (let s = 0; s < segments; s++) {
    const end = segmentEnd[s]!
    const w = segmentWindow[s]!
    if (w < 0) {
      i = end
      continue
    }
    let n = slots[countAt + w]!
    if (n === 0) {
      // The window's first valid value is its shift. `x - x` is NaN for NaN and ±Infinity: skipped.
      while (i < end && column[i]! - column[i]! !== 0) i++
      if (i === end) continue
      const first = column[i++]!
      slots[shiftAt + w] = slots[minAt + w] = slots[maxAt + w] = first
      n = 1
    }
    if (slots[scaleAt + w] !== 0) {
      deferred[deferredCount++] = s
      i = end
      continue
    }
    const shift = slots[shiftAt + w]!
    let sum = slots[sumAt + w]!
    let squares = slots[squaresAt + w]!
    let min = slots[minAt + w]!
    let max = slots[maxAt + w]!
    for (; i < end; i++) {
      const x = column[i]!
      if (x - x !== 0) continue
      const d = x - shift
      n++
      sum += d
      squares += d * d
      // Branch-free select (exact: one term is x or the old bound times 1, the other times 0): the
      // first samples of a window move min and max unpredictably, and mispredicted branches cost
      // more than these four multiplications.
      const below = +(x < min)
      const above = +(x > max)
      min = below * x + (1 - below) * min
      max = above * x + (1 - above) * max
    }
    if (!(squares < SQUARES_HIGH) || (squares < SQUARES_LOW && min !== max)) {
      // Out of the unscaled sums' range (or not finite): left out, to be summed again, scaled. The
      // slots keep the window's state without it (a new window's count stays 0).
      deferred[deferredCount++] = s
      continue
    }
    slots[countAt + w] = n
    slots[sumAt + w] = sum
    slots[squaresAt + w] = squares
    slots[minAt + w] = min
    slots[maxAt + w] = max
  }
  for (let d = 0; d < deferredCount; d++) {
    const s = deferred[d]!
    sumScaled(slots, base, windows, segmentWindow[s]!, column, s === 0 ? 0 : segmentEnd[s - 1]!, segmentEnd[s]!)
  }
}

// The segments `accumulate` leaves for `sumScaled`; shared like the segment scratch, allocated on first use.
let deferredScratch = new Int32Array(0)

/**
 * Adds `column[from, end)` to window `w` with scaled sums: sum(d) and sum(d^2) for
 * d = (x - shift) * 2^e, with `e` chosen so that the largest |d| seen is about 1, and the sums
 * rescaled when a larger one comes. No square then overflows, and the ones that vanish are too small
 * beside the largest to count. For windows the unscaled sums cannot serve; rare and slower.
 */
const sumScaled = (
  slots: Float64Array,
  base: number,
  windows: number,
  w: number,
  column: Float64Array,
  from: number,
  end: number
) => {
  let count = slots[base + COUNT * windows + w]!
  let shift = slots[base + SHIFT * windows + w]!
  let sum = slots[base + SUM * windows + w]!
  let squares = slots[base + SQUARES * windows + w]!
  let min = slots[base + MIN * windows + w]!
  let max = slots[base + MAX * windows + w]!
  let e = slots[base + SCALE * windows + w]!
  for (let i = from; i < end; i++) {
    const x = column[i]!
    if (x - x !== 0) continue
    if (count++ === 0) {
      shift = min = max = x
      continue
    }
    if (x < min) min = x
    if (x > max) max = x
    let d = x - shift
    if (d === 0) continue
    // x - shift passes the largest double only when both are huge: their halves subtract exactly.
    const halved = d - d !== 0
    if (halved) d = x * 0.5 - shift * 0.5
    // |x - shift| < 2^magnitude, give or take one for log2's rounding.
    const magnitude = Math.floor(Math.log2(Math.abs(d))) + 1 + (halved ? 1 : 0)
    if (sum === 0 && squares === 0) {
      e = -magnitude
    } else if (magnitude + e > 1) {
      sum = timesPowerOfTwo(sum, -magnitude - e)
      squares = timesPowerOfTwo(squares, 2 * (-magnitude - e))
      e = -magnitude
    }
    const scaled = timesPowerOfTwo(d, halved ? e + 1 : e)
    sum += scaled
    squares += scaled * scaled
  }
  slots[base + COUNT * windows + w] = count
  slots[base + SHIFT * windows + w] = shift
  slots[base + SUM * windows + w] = sum
  slots[base + SQUARES * windows + w] = squares
  slots[base + MIN * windows + w] = min
  slots[base + MAX * windows + w] = max
  slots[base + SCALE * windows + w] = e
}

/** `x * 2^e` in steps that stay within the doubles (exact while the result is a normal double). */
const timesPowerOfTwo = (x: number, e: number): number => {
  let result = x
  let rest = e
  for (; rest > 1000; rest -= 1000) result *= 2 ** 1000
  for (; rest < -1000; rest += 1000) result *= 2 ** -1000
  return result * 2 ** rest
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

/**
 * A resampler for one day of several assets: frames of any asset, in any order and chunking, each
 * go to their asset's `Resampler`. `result(asset)` gives an asset's windows (all empty for an asset
 * that sent nothing). Memory grows with the assets seen, so a pipeline gives it a batch of them.
 */
export class Fleet {
  private readonly options: Omit<ResampleOptions, "asset">
  private readonly resamplers = new Map<AssetId | undefined, Resampler>()

  constructor(options: Omit<ResampleOptions, "asset">) {
    this.options = options
  }

  /** Adds a chunk of one asset's samples (the frame's `asset`). */
  add(frame: SampleFrame): this {
    this.resamplerOf(frame.asset).add(frame)
    return this
  }

  /** The assets that sent at least one frame, in the order they came. */
  assets(): Array<AssetId | undefined> {
    return [...this.resamplers.keys()]
  }

  /** The windows of `asset` (of the default series when `undefined`). */
  result(asset: AssetId | undefined): Windows {
    return this.resamplerOf(asset).result()
  }

  /** The samples of `asset` inside the partition, in time order (needs `keepSamples`). */
  sortedSamples(asset: AssetId | undefined): SampleFrame {
    return this.resamplerOf(asset).sortedSamples()
  }

  private resamplerOf(asset: AssetId | undefined): Resampler {
    let resampler = this.resamplers.get(asset)
    if (resampler === undefined) {
      resampler = new Resampler({ ...this.options, asset })
      this.resamplers.set(asset, resampler)
    }
    return resampler
  }
}

/** A fleet resampler to feed chunk by chunk. */
export const makeFleet = (options: Omit<ResampleOptions, "asset">): Fleet => new Fleet(options)

// Valid samples ÷ expected samples per window: a window's length (the last one may be clipped at the
// partition's end) over the cadence.
const coverageOf = (count: Float64Array, grid: Window.WindowGrid, cadence: number): Float64Array => {
  const out = new Float64Array(count.length)
  for (let w = 0; w < count.length; w++) {
    const from = grid.start + w * grid.every
    const expected = (Math.min(from + grid.every, grid.end) - from) / cadence
    out[w] = count[w]! / expected
  }
  return out
}
