/**
 * A `Source` over samples held in memory: for tests, demos and apps that already have the data.
 * It serves a partition's samples in frames of `chunkSize`, like a streaming source would.
 */
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as SampleFrame from "./SampleFrame.ts"
import type { Variable } from "./Signal.ts"
import { Source } from "./Source.ts"

export interface MemorySourceOptions {
  /** Samples per emitted frame; 1,440 (a UTC day of minutes) by default. */
  readonly chunkSize?: number
  readonly name?: string
}

/** A Source that serves `data` (a frame, or rows with ISO/Date/epoch timestamps). */
export const make = (
  data:
    | SampleFrame.SampleFrame
    | ReadonlyArray<{ readonly timestamp: string | number | Date; readonly [variable: string]: unknown }>,
  options: MemorySourceOptions = {}
): Source["Service"] => {
  const chunkSize = options.chunkSize ?? 1440
  const frame = Array.isArray(data) ? SampleFrame.fromRows(data, columnNames(data)) : (data as SampleFrame.SampleFrame)
  return Source.of({
    name: options.name ?? "memory",
    extract: ({ range, variables }) =>
      Stream.suspend(() => Stream.fromIterable(SampleFrame.chunks(select(frame, range, variables), chunkSize)))
  })
}

/** A layer providing a memory `Source`. */
export const layer = (...args: Parameters<typeof make>): Layer.Layer<Source> => Layer.sync(Source, () => make(...args))

const columnNames = (rows: ReadonlyArray<{ readonly [key: string]: unknown }>): Array<Variable> => {
  const names = new Set<string>()
  for (const row of rows) for (const key of Object.keys(row)) if (key !== "timestamp") names.add(key)
  return [...names] as Array<Variable>
}

/** The samples in `[range.start, range.end)`, with the asked variables (missing where the data has none). */
const select = (
  frame: SampleFrame.SampleFrame,
  range: { readonly start: number; readonly end: number },
  variables: ReadonlyArray<Variable>
): SampleFrame.SampleFrame => {
  const positions: Array<number> = []
  for (let i = 0; i < frame.length; i++) {
    const t = frame.timestamps[i]!
    if (t >= range.start && t < range.end) positions.push(i)
  }
  const timestamps = Float64Array.from(positions, (i) => frame.timestamps[i]!)
  const columns = Object.fromEntries(
    variables.map((variable) => {
      const column = frame.columns[variable]
      return [variable, Float64Array.from(positions, (i) => (column === undefined ? Number.NaN : column[i]!))]
    })
  )
  return SampleFrame.make(timestamps, columns)
}
