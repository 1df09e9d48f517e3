/**
 * A `Source` over samples held in memory: for tests, demos and apps that already have the data.
 * It serves a partition's samples in frames of `chunkSize`, like a streaming source would.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { AssetId } from "./Asset.ts"
import * as SampleFrame from "./SampleFrame.ts"
import type { Variable } from "./Signal.ts"
import { Source } from "./Source.ts"

export interface MemorySourceOptions {
  /** Samples per emitted frame; 1,440 (a UTC day of minutes) by default. */
  readonly chunkSize?: number
  readonly name?: string
  /** With rows: the field naming each row's asset (e.g. `turbine_id`); rows without it are the default series. */
  readonly assetField?: string
}

type Rows = ReadonlyArray<{ readonly timestamp: string | number | Date; readonly [variable: string]: unknown }>

/**
 * A Source that serves `data`: a frame, frames (of assets, `SampleFrame.asset`), or rows with
 * ISO/Date/epoch timestamps (their asset in `assetField`, if any).
 */
export const make = (
  data: SampleFrame.SampleFrame | ReadonlyArray<SampleFrame.SampleFrame> | Rows,
  options: MemorySourceOptions = {}
): Source["Service"] => {
  const chunkSize = options.chunkSize ?? 1440
  const frames = framesOf(data, options.assetField)
  const assets = [...new Set(frames.flatMap((frame) => (frame.asset === undefined ? [] : [frame.asset])))].sort()
  return Source.of({
    name: options.name ?? "memory",
    ...(assets.length === 0 ? {} : { assets: Effect.succeed(assets) }),
    extract: ({ assets, range, variables }) =>
      Stream.suspend(() =>
        Stream.fromIterable(
          (assets === undefined ? [undefined] : assets).flatMap((asset) =>
            frames
              .filter((frame) => frame.asset === asset)
              .flatMap((frame) => SampleFrame.chunks(select(frame, range, variables), chunkSize))
          )
        )
      )
  })
}

const isFrame = (data: unknown): data is SampleFrame.SampleFrame =>
  (data as SampleFrame.SampleFrame).timestamps instanceof Float64Array

const framesOf = (
  data: SampleFrame.SampleFrame | ReadonlyArray<SampleFrame.SampleFrame> | Rows,
  assetField: string | undefined
): Array<SampleFrame.SampleFrame> => {
  if (isFrame(data)) return [data]
  const list = data as ReadonlyArray<unknown>
  if (list.length > 0 && list.every(isFrame)) return list as Array<SampleFrame.SampleFrame>
  const rows = data as Rows
  const variables = columnNames(rows).filter((name) => name !== assetField)
  if (assetField === undefined) return [SampleFrame.fromRows(rows, variables)]
  const byAsset = new Map<string | undefined, Array<Rows[number]>>()
  for (const row of rows) {
    const value = row[assetField]
    const asset = typeof value === "string" && value !== "" ? value : undefined
    let group = byAsset.get(asset)
    if (group === undefined) byAsset.set(asset, (group = []))
    group.push(row)
  }
  return [...byAsset].map(([asset, group]) =>
    SampleFrame.withAsset(SampleFrame.fromRows(group, variables), asset as AssetId | undefined)
  )
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
  return SampleFrame.make(timestamps, columns, frame.asset)
}
