/**
 * The UI's JSON API: the definition alone (endpoints, schemas, errors), shared by the server, its
 * OpenAPI document (`/openapi.json`) and the page, which imports only the types.
 */

import * as HttpApi from "effect/http-api/HttpApi"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as OpenApi from "effect/http-api/OpenApi"
import * as Schema from "effect/Schema"

/** What the grid colours a partition by: its latest run's status, or `missing` without one. */
export const State = Schema.Literals(["missing", "running", "succeeded", "degraded", "empty", "failed"])
export type State = typeof State.Type

export const Severity = Schema.Literals(["ok", "warn", "error"])
export type Severity = typeof Severity.Type

const Day = Schema.String.annotate({ description: "A calendar day, YYYY-MM-DD" })
const Asset = Schema.String.annotate({
  description: "A turbine (asset) as the ledger names it, e.g. WTG01; '' is the default series (no turbine)"
})
const AssetParam = Schema.String.annotate({
  description: "A turbine, e.g. WTG01; `_` (or nothing in a query) is the default series"
})
const Instant = Schema.String.annotate({ description: "ISO 8601, UTC" })
const Count = Schema.NullOr(Schema.Int)

/** The default series' key in paths and queries: no turbine id starts with `_`. */
export const defaultSeriesParam = "_"

export const Turbine = Schema.Struct({
  asset: Asset,
  label: Schema.String.annotate({ description: "The asset, or `default` for the default series" })
})
export type Turbine = typeof Turbine.Type

export const Info = Schema.Struct({
  pipelines: Schema.Array(Schema.String).annotate({ description: "The pipelines in the ledger, most recent first" }),
  pipeline: Schema.String.annotate({ description: "The pipeline shown unless a request names another" }),
  timeZone: Schema.String.annotate({ description: "The pipeline's time zone (its latest run's)" }),
  firstDay: Schema.NullOr(Day),
  lastDay: Schema.NullOr(Day),
  turbines: Schema.Array(Turbine),
  variables: Schema.Array(Schema.String).annotate({ description: "Variables with a `_mean` signal in `data`" }),
  rawSamples: Schema.Boolean.annotate({ description: "Whether a fonte URL is configured (`GET /api/raw`)" }),
  readOnly: Schema.Boolean,
  database: Schema.String.annotate({ description: "Which database, never with its password" })
})
export type Info = typeof Info.Type

export const Cell = Schema.Struct({
  day: Day,
  asset: Asset,
  state: State,
  quality: Schema.NullOr(Severity).annotate({ description: "The worst quality finding; null without findings" }),
  attempts: Schema.Int,
  error: Schema.NullOr(Schema.String),
  rowsWritten: Count,
  durationMs: Schema.NullOr(Schema.Finite),
  startedAt: Schema.NullOr(Instant)
})
export type Cell = typeof Cell.Type

export const Grid = Schema.Struct({
  pipeline: Schema.String,
  timeZone: Schema.String,
  from: Day,
  to: Day,
  days: Schema.Array(Day),
  turbines: Schema.Array(Turbine),
  cells: Schema.Array(Cell).annotate({ description: "Turbine by turbine, each day by day: turbines × days cells" }),
  counts: Schema.Record(Schema.String, Schema.Int).annotate({ description: "Cells per state" })
})
export type Grid = typeof Grid.Type

export const Run = Schema.Struct({
  id: Schema.Int,
  attempt: Schema.Int,
  status: Schema.String,
  startedAt: Instant,
  finishedAt: Schema.NullOr(Instant),
  heartbeatAt: Instant,
  durationMs: Schema.NullOr(Schema.Finite),
  samplesRead: Count,
  rowsWritten: Count,
  rowsDeleted: Count,
  error: Schema.NullOr(Schema.String),
  runner: Schema.NullOr(Schema.String)
})
export type Run = typeof Run.Type

export const Finding = Schema.Struct({
  variable: Schema.String,
  check: Schema.String,
  value: Schema.Finite,
  severity: Severity,
  reason: Schema.String
})
export type Finding = typeof Finding.Type

export const PartitionDetail = Schema.Struct({
  pipeline: Schema.String,
  day: Day,
  timeZone: Schema.String,
  asset: Asset,
  label: Schema.String,
  state: State,
  runs: Schema.Array(Run).annotate({ description: "Every attempt, the first first" }),
  quality: Schema.Array(Finding).annotate({ description: "The latest findings, in the checks' order" }),
  qualityRunId: Schema.NullOr(Schema.Int)
})
export type PartitionDetail = typeof PartitionDetail.Type

const Values = Schema.Array(Schema.NullOr(Schema.Number))

export const Series = Schema.Struct({
  asset: Asset,
  label: Schema.String,
  variable: Schema.String,
  timestamps: Schema.Array(Schema.Number).annotate({ description: "Each window's start, epoch milliseconds" }),
  mean: Values,
  min: Values,
  max: Values,
  std: Values.annotate({ description: "null where a window had one sample" })
})
export type Series = typeof Series.Type

export const SeriesSet = Schema.Struct({
  variable: Schema.String,
  from: Instant,
  to: Instant,
  series: Schema.Array(Series)
})
export type SeriesSet = typeof SeriesSet.Type

export const RawSamples = Schema.Struct({
  asset: Asset,
  from: Instant,
  to: Instant,
  source: Schema.String.annotate({ description: "The fonte request made" }),
  timestamps: Schema.Array(Schema.Number),
  values: Schema.Record(Schema.String, Values)
})
export type RawSamples = typeof RawSamples.Type

/** A request that cannot be answered as asked: a bad day, an unknown pipeline. */
export class BadRequest extends Schema.TaggedError<BadRequest>()(
  "BadRequest",
  { message: Schema.String },
  { httpApiStatus: 400 }
) {}

export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  { message: Schema.String },
  { httpApiStatus: 404 }
) {}

/** The database or the fonte failed: the message says which and why. */
export class Unavailable extends Schema.TaggedError<Unavailable>()(
  "Unavailable",
  { message: Schema.String },
  { httpApiStatus: 503 }
) {}

const errors = [BadRequest, Unavailable]
const pipeline = Schema.optional(Schema.String).annotate({ description: "Default: the `info` pipeline" })

export class FleetGroup extends HttpApiGroup.make("fleet").add(
  HttpApiEndpoint.get("info", "/api/info", { success: Info, error: errors }),
  HttpApiEndpoint.get("turbines", "/api/turbines", {
    query: { pipeline },
    success: Schema.Array(Turbine),
    error: errors
  }),
  HttpApiEndpoint.get("partitions", "/api/partitions", {
    query: {
      from: Schema.optional(Day).annotate({ description: "Default: 30 days before `to`" }),
      to: Schema.optional(Day).annotate({ description: "Default: the pipeline's latest day in the ledger" }),
      turbine: Schema.optional(Schema.String).annotate({
        description: "Comma-separated turbines (`_` for the default series); all when absent"
      }),
      pipeline
    },
    success: Grid,
    error: errors
  }),
  HttpApiEndpoint.get("partition", "/api/partitions/:day/:asset", {
    params: { day: Day, asset: AssetParam },
    query: { pipeline },
    success: PartitionDetail,
    error: [...errors, NotFound]
  }),
  HttpApiEndpoint.get("series", "/api/series", {
    query: {
      turbine: Schema.optional(Schema.String).annotate({
        description: "Comma-separated turbines to overlay (`_` for the default series); the first turbine when absent"
      }),
      signal: Schema.optional(Schema.String).annotate({ description: "A variable, e.g. wind_speed (the default)" }),
      from: Day,
      to: Schema.optional(Day).annotate({ description: "The last day, included (default: `from`)" }),
      pipeline
    },
    success: SeriesSet,
    error: errors
  }),
  HttpApiEndpoint.get("raw", "/api/raw", {
    query: {
      turbine: Schema.optional(Schema.String).annotate({ description: "A turbine; `_` or absent: the default series" }),
      from: Instant.annotate({ description: "The window's start, ISO 8601 (included)" }),
      minutes: Schema.optional(Schema.String).annotate({
        description: "The window's length, 10 by default (1 to 1440)"
      })
    },
    success: RawSamples,
    error: [...errors, NotFound]
  })
) {}

export class UiApi extends HttpApi.make("delfos-ui")
  .add(FleetGroup)
  .annotateMerge(
    OpenApi.annotations({
      title: "delfos-etl ui",
      description:
        "Read-only views of a delfos-etl target: the run ledger (etl_run), quality findings and the 10-minute series"
    })
  ) {}
