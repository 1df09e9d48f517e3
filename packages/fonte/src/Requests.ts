/**
 * Reading the fonte's requests the way the reference (FastAPI) does: the same parameters, and the
 * same error bodies, `400 {"detail": "…"}` for a reversed range and `422 {"detail": [{loc, msg, …}]}`
 * naming the field for anything malformed. Pure functions, so each rule is tested alone.
 *
 * Hostile input stays cheap: a 422 echoes a bounded excerpt of the input (a body nested 100,000
 * deep is not written back), and stored instants keep to the years 0000 to 9999, which the API's
 * naive timestamps write with four digits.
 */
import { Signal, Timestamp } from "@delfos/etl"
import { maxDays, maxTurbineDays, maxTurbines, turbineIdPattern } from "./Api.ts"

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
  detail: issues.map((issue) => ("input" in issue ? { ...issue, input: excerpt(issue.input) } : issue))
})

const excerptDepth = 2
const excerptEntries = 8
const excerptText = 80

/**
 * What a 422 echoes of an input (FastAPI echoes it whole): scalars as they are, strings cut at 80
 * characters, arrays and objects cut at 8 entries and 2 levels, `"…"` where something was left
 * out. The recursion stops at 2 levels, so no input can overflow the stack or the answer.
 */
export const excerpt = (value: unknown, depth = 0): unknown => {
  if (typeof value === "string") return value.length > excerptText ? `${value.slice(0, excerptText)}…` : value
  if (typeof value !== "object" || value === null) return value
  if (depth === excerptDepth) return "…"
  if (Array.isArray(value)) {
    const items = value.slice(0, excerptEntries).map((item) => excerpt(item, depth + 1))
    return value.length > excerptEntries ? [...items, "…"] : items
  }
  // No prototype: a "__proto__" key in the input stays a key.
  const out: Record<string, unknown> = Object.create(null)
  let count = 0
  for (const key in value) {
    if (count === excerptEntries) {
      out["…"] = "…"
      break
    }
    out[excerpt(key) as string] = excerpt((value as Record<string, unknown>)[key], depth + 1)
    count++
  }
  return out
}

/**
 * The instants the fonte stores, `[start, end)`: the years 0000 to 9999, what a naive timestamp
 * writes with four digits. The year 0000 is 1 BC (Postgres shows it as `0001-01-01 BC`).
 */
export const storable = { start: Timestamp.parse("0000-01-01"), end: Timestamp.parse("+010000-01-01") } as const

export type Format = "json" | "ndjson" | "columns"

/** A turbine a request names, and which `turbine_id` parameter named it (for a 422's `loc`). */
export interface TurbineRef {
  readonly turbineId: string
  readonly index: number
}

export interface SensorsQuery {
  /** Epoch ms, inclusive. */
  readonly start: number
  /** Epoch ms, inclusive. */
  readonly end: number
  readonly metrics: ReadonlyArray<Signal.Variable>
  readonly format: Format
  /** The turbines asked for, in order, each once; `undefined` without `turbine_id`: the farm's first, rows as the reference's. */
  readonly turbines: ReadonlyArray<TurbineRef> | undefined
}

const patternMessage = `String should match pattern '${turbineIdPattern.source}'`

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
  // An instant in a body is stored; one in a query only bounds a range and may lie anywhere.
  if (location === "body" && !(millis >= storable.start && millis < storable.end)) {
    issues.push({
      type: "value_error",
      loc: [location, field],
      msg: "Input should be in the years 0000 to 9999 (UTC)",
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
      if (Signal.knownVariables.includes(name as Signal.Variable)) {
        if (!metrics.includes(name as Signal.Variable)) metrics.push(name as Signal.Variable)
      } else {
        issues.push({
          type: "enum",
          loc: ["query", "metrics", index],
          msg: `Input should be ${Signal.knownVariables.map((m) => `'${m}'`).join(", ")}`,
          input: name
        })
      }
    }
  })
  const turbineParams = params.getAll("turbine_id")
  const turbines: Array<TurbineRef> = []
  turbineParams.forEach((value, index) => {
    for (const name of value.split(",").map((part) => part.trim())) {
      if (!turbineIdPattern.test(name)) {
        issues.push({
          type: "string_pattern_mismatch",
          loc: ["query", "turbine_id", index],
          msg: patternMessage,
          input: name
        })
      } else if (!turbines.some((turbine) => turbine.turbineId === name)) {
        turbines.push({ turbineId: name, index })
      }
    }
  })
  const formatText = params.get("format") ?? "json"
  if (formatText !== "json" && formatText !== "ndjson" && formatText !== "columns") {
    issues.push({
      type: "enum",
      loc: ["query", "format"],
      msg: "Input should be 'json', 'ndjson' or 'columns'",
      input: formatText
    })
  }
  if (issues.length > 0 || start === undefined || end === undefined) return unprocessable(issues)
  if (start > end) {
    return { _tag: "Invalid", status: 400, detail: "start_date must be before or equal to end_date" }
  }
  return valid({
    // Nothing is stored outside these bounds, and Postgres' timestamptz starts later than a Date.
    start: Math.max(start, storable.start),
    end: Math.min(end, storable.end - 1),
    metrics: metrics.length === 0 ? Signal.knownVariables : metrics,
    format: formatText as Format,
    turbines: turbineParams.length === 0 ? undefined : turbines
  })
}

/** A 422 naming each turbine of the request the farm does not have, or `undefined` when it has them all. */
export const unknownTurbines = (asked: ReadonlyArray<TurbineRef>, known: ReadonlySet<string>): Invalid | undefined => {
  const issues = asked
    .filter((turbine) => !known.has(turbine.turbineId))
    .map(
      (turbine): ValidationIssue => ({
        type: "value_error",
        loc: ["query", "turbine_id", turbine.index],
        msg: "Unknown turbine: GET /api/v1/turbines lists the farm's turbines",
        input: turbine.turbineId
      })
    )
  return issues.length === 0 ? undefined : unprocessable(issues)
}

/** An optional `turbine_id` of a body: `undefined` when absent, else a name matching the pattern. */
const turbineIdOf = (raw: unknown, issues: Array<ValidationIssue>): string | undefined => {
  if (raw === undefined || raw === null) return undefined
  if (typeof raw !== "string") {
    issues.push({ type: "string_type", loc: ["body", "turbine_id"], msg: "Input should be a valid string", input: raw })
  } else if (!turbineIdPattern.test(raw)) {
    issues.push({ type: "string_pattern_mismatch", loc: ["body", "turbine_id"], msg: patternMessage, input: raw })
  } else {
    return raw
  }
  return undefined
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
  /** The turbine named, if any (the farm's first otherwise). */
  readonly turbineId: string | undefined
}

/** `POST /api/v1/sensors`: `{timestamp, wind_speed?, power?, ambient_temperature?, turbine_id?}`. */
export const sensorInput = (body: unknown): Parsed<SensorInput> => {
  if (!isObject(body)) {
    return unprocessable([
      { type: "model_attributes_type", loc: ["body"], msg: "Input should be an object", input: body }
    ])
  }
  const issues: Array<ValidationIssue> = []
  const t = datetime("body", "timestamp", body.timestamp, issues)
  const values: Record<string, number | null> = {}
  for (const name of Signal.knownVariables) {
    const value = body[name]
    if (value === undefined || value === null) values[name] = null
    else if (typeof value === "number" && Number.isFinite(value)) values[name] = value
    else issues.push({ type: "float_type", loc: ["body", name], msg: "Input should be a valid number", input: value })
  }
  const turbineId = turbineIdOf(body.turbine_id, issues)
  if (issues.length > 0 || t === undefined) return unprocessable(issues)
  return valid({ t, values, turbineId })
}

/** The most days one populate request may generate (`Api.maxDays`). */
export { maxDays }

const dayMillis = 86_400_000

export interface PopulateInput {
  readonly start: number
  readonly days: number
  readonly seed: number
  /** WTG01 to WTGnn; 1 by default. */
  readonly turbines: number
}

/** `POST /api/v1/sensors/populate_database` and `POST /api/seed`: `{start_date, days, seed?, turbines?}`. */
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
  const turbines = body.turbines ?? 1
  if (typeof turbines !== "number" || !Number.isInteger(turbines) || turbines < 1 || turbines > maxTurbines) {
    issues.push({
      type: "int_range",
      loc: ["body", "turbines"],
      msg: `Input should be a whole number from 1 to ${maxTurbines}`,
      input: turbines
    })
  } else if (typeof days === "number" && Number.isInteger(days) && turbines * days > maxTurbineDays) {
    issues.push({
      type: "less_than_equal",
      loc: ["body", "turbines"],
      msg: `Input should keep turbines × days at most ${maxTurbineDays}: ask for fewer days a request`,
      input: turbines
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
  if (issues.length === 0 && start !== undefined && start + (days as number) * dayMillis > storable.end) {
    // The generated days must end by 9999-12-31, the last day a naive timestamp can write.
    const room = Math.floor((storable.end - start) / dayMillis)
    issues.push(
      room < 1
        ? {
            type: "value_error",
            loc: ["body", "start_date"],
            msg: "Input should leave a whole day before the end of 9999-12-31",
            input: body.start_date
          }
        : {
            type: "less_than_equal",
            loc: ["body", "days"],
            msg: `Input should end by 9999-12-31: at most ${room} days from start_date`,
            input: days
          }
    )
  }
  if (issues.length > 0 || start === undefined) return unprocessable(issues)
  return valid({ start, days: days as number, seed: seed as number, turbines: turbines as number })
}
