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

/** One row of `GET /api/v1/sensors`: every key present, unselected metrics `null`, naive UTC timestamps. */
export const SensorRow = Schema.Struct({
  timestamp: Schema.String.annotate({ description: "Naive ISO 8601 in UTC, e.g. 2024-01-01T00:00:00" }),
  wind_speed: NullableNumber,
  power: NullableNumber,
  ambient_temperature: NullableNumber
})

export const SensorInput = Schema.Struct({
  timestamp: Schema.String.annotate({ description: "ISO 8601; without an offset it is UTC" }),
  wind_speed: Schema.optional(NullableNumber),
  power: Schema.optional(NullableNumber),
  ambient_temperature: Schema.optional(NullableNumber)
})

export const PopulateInput = Schema.Struct({
  start_date: Schema.String.annotate({ description: "The first day (or instant), ISO 8601, UTC" }),
  days: Schema.Int.annotate({ description: "Days of 1-minute samples, 1 to 366" }),
  seed: Schema.optional(Schema.Int).annotate({ description: "Extension: the generator's seed (default 42)" })
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
    description: "Extension: json (default, one streamed JSON array) or ndjson (one row per line)"
  })
}

export class SystemGroup extends HttpApiGroup.make("system", { topLevel: true }).add(
  HttpApiEndpoint.get("health", "/health", { success: Schema.Struct({ status: Schema.Literal("ok") }) })
) {}

export class SensorsGroup extends HttpApiGroup.make("sensors").add(
  HttpApiEndpoint.get("list", "/api/v1/sensors", {
    query,
    success: Schema.Array(SensorRow),
    error: ErrorDetail
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
