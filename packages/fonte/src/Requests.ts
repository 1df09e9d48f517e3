/**
 * Reading the fonte's requests the way the reference (FastAPI) does: the same parameters, and the
 * same error bodies, `400 {"detail": "…"}` for a reversed range and `422 {"detail": [{loc, msg, …}]}`
 * naming the field for anything malformed. Pure functions, so each rule is tested alone.
 */
import { Signal, Timestamp } from "@delfos/etl"

export interface ValidationIssue {
  readonly type: string
  readonly loc: ReadonlyArray<string | number>
  readonly msg: string
  readonly input?: unknown
}

export interface Invalid {
  readonly _tag: "Invalid"
  readonly status: 400 | 422
  readonly detail: string | ReadonlyArray<ValidationIssue>
}

export type Parsed<A> = { readonly _tag: "Valid"; readonly value: A } | Invalid

const valid = <A>(value: A): Parsed<A> => ({ _tag: "Valid", value })
const unprocessable = (issues: ReadonlyArray<ValidationIssue>): Invalid => ({
  _tag: "Invalid",
  status: 422,
  detail: issues
})

export const metricNames = Signal.knownVariables

export type Format = "json" | "ndjson"

export interface SensorsQuery {
  /** Epoch ms, inclusive. */
  readonly start: number
  /** Epoch ms, inclusive. */
  readonly end: number
  readonly metrics: ReadonlyArray<Signal.Variable>
  readonly format: Format
}

const datetime = (
  location: "query" | "body",
  field: string,
  raw: unknown,
  issues: Array<ValidationIssue>
): number | undefined => {
  if (raw === undefined || raw === null) {
    issues.push({ type: "missing", loc: [location, field], msg: "Field required", input: raw ?? null })
    return undefined
  }
  const millis = typeof raw === "string" ? Timestamp.parse(raw) : Number.NaN
  if (Number.isNaN(millis)) {
    issues.push({
      type: "datetime_from_date_parsing",
      loc: [location, field],
      msg: "Input should be a valid datetime or date (ISO 8601, e.g. 2024-01-01T00:00:00)",
      input: raw
    })
    return undefined
  }
  return millis
}

/** `GET /api/v1/sensors`: `start_date`, `end_date` (inclusive), `metrics` repeated or comma-separated. */
export const sensorsQuery = (params: URLSearchParams): Parsed<SensorsQuery> => {
  const issues: Array<ValidationIssue> = []
  const start = datetime("query", "start_date", params.get("start_date") ?? undefined, issues)
  const end = datetime("query", "end_date", params.get("end_date") ?? undefined, issues)
  const metrics: Array<Signal.Variable> = []
  params.getAll("metrics").forEach((value, index) => {
    const names = value.split(",").map((name) => name.trim())
    for (const name of names) {
      if (metricNames.includes(name as Signal.Variable)) {
        if (!metrics.includes(name as Signal.Variable)) metrics.push(name as Signal.Variable)
      } else {
        issues.push({
          type: "enum",
          loc: ["query", "metrics", index],
          msg: `Input should be ${metricNames.map((m) => `'${m}'`).join(", ")}`,
          input: name
        })
      }
    }
  })
  const formatText = params.get("format") ?? "json"
  if (formatText !== "json" && formatText !== "ndjson") {
    issues.push({
      type: "enum",
      loc: ["query", "format"],
      msg: "Input should be 'json' or 'ndjson'",
      input: formatText
    })
  }
  if (issues.length > 0 || start === undefined || end === undefined) return unprocessable(issues)
  if (start > end) {
    return { _tag: "Invalid", status: 400, detail: "start_date must be before or equal to end_date" }
  }
  return valid({ start, end, metrics: metrics.length === 0 ? metricNames : metrics, format: formatText as Format })
}

/** Parses a JSON body, or says where it is malformed. */
export const jsonBody = (text: string): Parsed<unknown> => {
  try {
    return valid(JSON.parse(text))
  } catch (error) {
    return unprocessable([
      { type: "json_invalid", loc: ["body"], msg: `JSON decode error: ${(error as Error).message}`, input: {} }
    ])
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

export interface SensorInput {
  readonly t: number
  readonly values: { readonly [name: string]: number | null }
}

/** `POST /api/v1/sensors`: `{timestamp, wind_speed?, power?, ambient_temperature?}`. */
export const sensorInput = (body: unknown): Parsed<SensorInput> => {
  if (!isObject(body)) {
    return unprocessable([
      { type: "model_attributes_type", loc: ["body"], msg: "Input should be an object", input: body }
    ])
  }
  const issues: Array<ValidationIssue> = []
  const t = datetime("body", "timestamp", body.timestamp, issues)
  const values: Record<string, number | null> = {}
  for (const name of metricNames) {
    const value = body[name]
    if (value === undefined || value === null) values[name] = null
    else if (typeof value === "number" && Number.isFinite(value)) values[name] = value
    else issues.push({ type: "float_type", loc: ["body", name], msg: "Input should be a valid number", input: value })
  }
  if (issues.length > 0 || t === undefined) return unprocessable(issues)
  return valid({ t, values })
}

/** The most days one populate request may generate. */
export const maxDays = 366

export interface PopulateInput {
  readonly start: number
  readonly days: number
  readonly seed: number
}

/** `POST /api/v1/sensors/populate_database` and `POST /api/seed`: `{start_date, days, seed?}`. */
export const populateInput = (body: unknown): Parsed<PopulateInput> => {
  if (!isObject(body)) {
    return unprocessable([
      { type: "model_attributes_type", loc: ["body"], msg: "Input should be an object", input: body }
    ])
  }
  const issues: Array<ValidationIssue> = []
  const start = datetime("body", "start_date", body.start_date, issues)
  const days = body.days
  if (days === undefined) {
    issues.push({ type: "missing", loc: ["body", "days"], msg: "Field required", input: null })
  } else if (typeof days !== "number" || !Number.isInteger(days) || days < 1 || days > maxDays) {
    issues.push({
      type: "int_range",
      loc: ["body", "days"],
      msg: `Input should be a whole number from 1 to ${maxDays}`,
      input: days
    })
  }
  const seed = body.seed ?? 42
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) {
    issues.push({
      type: "int_type",
      loc: ["body", "seed"],
      msg: "Input should be a non-negative whole number",
      input: seed
    })
  }
  if (start !== undefined && start % 60_000 !== 0) {
    issues.push({
      type: "value_error",
      loc: ["body", "start_date"],
      msg: "Input should be a whole minute",
      input: body.start_date
    })
  }
  if (issues.length > 0 || start === undefined) return unprocessable(issues)
  return valid({ start, days: days as number, seed: seed as number })
}
