/** The page's calls to the UI's JSON API (types from its definition, `src/Api.ts`; no code from it). */
import type { Grid, Info, PartitionDetail, RawSamples, SeriesSet } from "../src/Api.ts"

export type {
  Cell,
  Finding,
  Grid,
  Info,
  PartitionDetail,
  RawSamples,
  Run,
  Series,
  SeriesSet,
  State
} from "../src/Api.ts"

/** An answer other than 2xx: the API's message. */
export class ApiError extends Error {}

const get = async <A>(path: string, query: Record<string, string | undefined> = {}): Promise<A> => {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== "") params.set(key, value)
  const text = params.toString()
  const response = await fetch(`./api/${path}${text === "" ? "" : `?${text}`}`)
  const body = (await response.json().catch(() => ({}))) as { message?: string }
  if (!response.ok) throw new ApiError(body.message ?? `HTTP ${response.status}`)
  return body as A
}

/** `''` (the default series) is `_` in paths and queries. */
export const assetParam = (asset: string): string => (asset === "" ? "_" : asset)

export const info = () => get<Info>("info")

export const partitions = (query: {
  pipeline?: string | undefined
  from?: string | undefined
  to?: string | undefined
  turbine?: string | undefined
}) => get<Grid>("partitions", query)

export const partition = (day: string, asset: string, pipeline?: string) =>
  get<PartitionDetail>(`partitions/${encodeURIComponent(day)}/${encodeURIComponent(assetParam(asset))}`, { pipeline })

export const series = (query: {
  pipeline?: string | undefined
  turbine?: string | undefined
  signal?: string | undefined
  from: string
  to?: string | undefined
}) => get<SeriesSet>("series", query)

export const raw = (query: { turbine?: string | undefined; from: string; minutes?: string | undefined }) =>
  get<RawSamples>("raw", query)
