/**
 * The fonte HTTP API, as the reference FastAPI service defines it (SPEC §3): the definition alone,
 * shared by the server, its OpenAPI document and docs page, and any typed client.
 */

import * as HttpApi from "effect/http-api/HttpApi"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as OpenApi from "effect/http-api/OpenApi"
import * as Schema from "effect/Schema"

const NullableNumber = Schema.NullOr(Schema.Finite)

/** What a turbine may be called: a letter or digit, then up to 31 letters, digits, `_`, `.` or `-` (e.g. `WTG01`). */
export const turbineIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/

/** The most days one populate request may generate. */
export const maxDays = 366

/** The most turbines one populate request may generate. */
export const maxTurbines = 1000

/**
 * The most turbine-days one populate request may generate: 100 turbines × 100 days, 14.4 M samples,
 * well within an HTTP client's patience (undici's is 5 minutes for the headers) even when every
 * row replaces one (~100k rows/s on a busy machine). Larger seeds take several requests
 * (`FonteClient.populate` splits them by days).
 */
export const maxTurbineDays = 10_000

const TurbineId = Schema.String.annotate({
  description: "A turbine, e.g. WTG01: a letter or digit, then up to 31 of letters, digits, _ . -"
})

/** One turbine of the farm, as `GET /api/v1/turbines` lists it; metadata `null` where unknown. */
export const Turbine = Schema.Struct({
  turbine_id: TurbineId,
  rated_power: Schema.NullOr(Schema.Finite).annotate({ description: "kW" }),
  x: Schema.NullOr(Schema.Finite).annotate({ description: "Metres east of WTG01 in the farm's layout" }),
  y: Schema.NullOr(Schema.Finite).annotate({ description: "Metres north of WTG01 in the farm's layout" })
})

/** One row of `GET /api/v1/sensors`: every key present, unselected metrics `null`, naive UTC timestamps. */
export const SensorRow = Schema.Struct({
  timestamp: Schema.String.annotate({ description: "Naive ISO 8601 in UTC, e.g. 2024-01-01T00:00:00" }),
  wind_speed: NullableNumber,
  power: NullableNumber,
  ambient_temperature: NullableNumber
})

/** A row of a farm's answer (`turbine_id` given): the turbine first, then the reference's row. */
export const TurbineSensorRow = Schema.Struct({
  turbine_id: TurbineId,
  ...SensorRow.fields
})

export const SensorInput = Schema.Struct({
  timestamp: Schema.String.annotate({ description: "ISO 8601; without an offset it is UTC" }),
  wind_speed: Schema.optional(NullableNumber),
  power: Schema.optional(NullableNumber),
  ambient_temperature: Schema.optional(NullableNumber),
  turbine_id: Schema.optional(TurbineId).annotate({
    description: "Extension: the turbine (default: the farm's first); a new name adds a turbine"
  })
})

export const PopulateInput = Schema.Struct({
  start_date: Schema.String.annotate({ description: "The first day (or instant), ISO 8601, UTC" }),
  days: Schema.Int.annotate({ description: "Days of 1-minute samples, 1 to 366" }),
  seed: Schema.optional(Schema.Int).annotate({ description: "Extension: the generator's seed (default 42)" }),
  turbines: Schema.optional(Schema.Int).annotate({
    description: `Extension: a farm of WTG01 to WTGnn, 1 (default) to ${maxTurbines}, at most ${maxTurbineDays} turbine-days a request`
  })
})

export const PopulateResult = Schema.Struct({
  message: Schema.String,
  details: Schema.Struct({
    total_records: Schema.Int,
    start: Schema.String,
    end: Schema.String.annotate({ description: "Exclusive" })
  })
})

/** FastAPI's error body: a message, or a list of validation errors naming the field (`loc`). */
export const ErrorDetail = Schema.Struct({
  detail: Schema.Union([
    Schema.String,
    Schema.Array(
      Schema.Struct({
        type: Schema.String,
        loc: Schema.Array(Schema.Union([Schema.String, Schema.Int])),
        msg: Schema.String,
        input: Schema.optional(Schema.Unknown)
      })
    )
  ])
})

const query = {
  start_date: Schema.optional(Schema.String).annotate({ description: "Required. First instant, inclusive" }),
  end_date: Schema.optional(Schema.String).annotate({ description: "Required. Last instant, inclusive" }),
  metrics: Schema.optional(Schema.Array(Schema.String)).annotate({
    description:
      "Repeated (metrics=wind_speed&metrics=power) or comma-separated; wind_speed, power, ambient_temperature; none = all"
  }),
  format: Schema.optional(Schema.String).annotate({
    description:
      "Extension: json (default, one streamed JSON array), ndjson (one row per line) or columns (a line per page of " +
      "one turbine: turbine_id, timestamp_ms (epoch milliseconds) and an array per metric asked for)"
  }),
  turbine_id: Schema.optional(Schema.Array(Schema.String)).annotate({
    description:
      "Extension: repeated or comma-separated turbines (GET /api/v1/turbines); rows then carry turbine_id and come " +
      "turbine by turbine, in the order asked, each in time order. None: the farm's first turbine, rows as the reference's"
  })
}

export class SystemGroup extends HttpApiGroup.make("system", { topLevel: true }).add(
  HttpApiEndpoint.get("health", "/health", { success: Schema.Struct({ status: Schema.Literal("ok") }) })
) {}

export class SensorsGroup extends HttpApiGroup.make("sensors").add(
  HttpApiEndpoint.get("list", "/api/v1/sensors", {
    query,
    success: Schema.Union([Schema.Array(SensorRow), Schema.Array(TurbineSensorRow)]),
    error: ErrorDetail
  }),
  HttpApiEndpoint.get("turbines", "/api/v1/turbines", {
    success: Schema.Array(Turbine)
  }),
  HttpApiEndpoint.post("create", "/api/v1/sensors", {
    payload: SensorInput,
    success: SensorRow,
    error: ErrorDetail
  }),
  HttpApiEndpoint.post("populate", "/api/v1/sensors/populate_database", {
    payload: PopulateInput,
    success: PopulateResult,
    error: ErrorDetail
  }),
  HttpApiEndpoint.post("seed", "/api/seed", {
    payload: PopulateInput,
    success: PopulateResult,
    error: ErrorDetail
  })
) {}

export class FonteApi extends HttpApi.make("fonte")
  .add(SystemGroup)
  .add(SensorsGroup)
  .annotateMerge(
    OpenApi.annotations({
      title: "delfos fonte",
      description: "1-minute wind-turbine sensor samples, compatible with the reference fonte service"
    })
  ) {}
