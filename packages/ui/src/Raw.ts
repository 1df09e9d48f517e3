/**
 * The raw 1-minute samples behind a window, asked of the fonte (`GET {sourceUrl}/sensors`, both
 * ends inclusive, so the window's end is dropped here) in its columnar format: the page shows them
 * beside the window's aggregate.
 */
import { Timestamp } from "@delfos/etl"
import * as Effect from "effect/Effect"

export interface RawColumns {
  /** The request made, for the page to show. */
  readonly source: string
  readonly timestamps: Array<number>
  readonly values: Record<string, Array<number | null>>
}

/** One line of `format=columns`: a page of one turbine's samples. */
interface ColumnsLine {
  readonly timestamp_ms: ReadonlyArray<number>
  readonly [metric: string]: unknown
}

const metrics = ["wind_speed", "power", "ambient_temperature"] as const

/** The fonte request for `[start, end)` of `asset` (`''`: the fonte's default turbine). */
export const requestUrl = (sourceUrl: string, asset: string, start: number, end: number): string => {
  const query = new URLSearchParams({
    start_date: Timestamp.formatNaive(start),
    end_date: Timestamp.formatNaive(end),
    format: "columns"
  })
  if (asset !== "") query.set("turbine_id", asset)
  return `${sourceUrl.replace(/\/+$/, "")}/sensors?${query}`
}

/** Parses the fonte's `format=columns` answer, keeping the samples in `[start, end)`. */
export const parseColumns = (text: string, start: number, end: number): Omit<RawColumns, "source"> => {
  const timestamps: Array<number> = []
  const values: Record<string, Array<number | null>> = Object.fromEntries(metrics.map((metric) => [metric, []]))
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    const page = JSON.parse(line) as ColumnsLine
    page.timestamp_ms.forEach((t, i) => {
      if (t < start || t >= end) return
      timestamps.push(t)
      for (const metric of metrics) {
        const column = page[metric] as ReadonlyArray<number | null> | undefined
        values[metric]!.push(column?.[i] ?? null)
      }
    })
  }
  return { timestamps, values }
}

/** The samples of `[start, end)`; fails with a one-line reason when the fonte does not answer as expected. */
export const fetchWindow = (
  sourceUrl: string,
  asset: string,
  start: number,
  end: number
): Effect.Effect<RawColumns, string> => {
  const url = requestUrl(sourceUrl, asset, start, end)
  return Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(15_000)]) })
      const text = await response.text()
      if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`)
      return { source: url, ...parseColumns(text, start, end) }
    },
    catch: (error) => `the fonte at ${sourceUrl}: ${error instanceof Error ? error.message : String(error)}`
  })
}
