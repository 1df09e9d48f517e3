/**
 * A sample is one reading of the sensors at an instant, as a row: `{ timestamp, wind_speed, … }`,
 * `null` for a missing value. Rows are the exchange format at the edges; the core works on
 * `SampleFrame`s.
 */
import * as Schema from "effect/Schema"
import { knownVariables, type Variable } from "./Signal.ts"
import * as Timestamp from "./Timestamp.ts"

/** An ISO 8601 timestamp; one without an offset is UTC. */
export const IsoTimestamp = Schema.String.check(
  Schema.makeFilter(
    (text: string) =>
      !Number.isNaN(Timestamp.parse(text)) ||
      `expected an ISO 8601 timestamp such as 2024-01-01T00:00:00, got "${text}"`
  )
)

/** A sensor value: a finite number, or `null` when the sensor gave none. */
export const SensorValue = Schema.NullOr(Schema.Finite)

/** The schema of a sample row carrying `variables` (each optional: an absent key is a missing value). */
export const schemaFor = (variables: ReadonlyArray<Variable>) =>
  Schema.Struct({
    timestamp: IsoTimestamp,
    ...Object.fromEntries(variables.map((variable) => [variable, Schema.optionalKey(SensorValue)]))
  })

/** A sample of the fonte API's variables. */
export const Sample = schemaFor(knownVariables)

/** A sample row: an ISO timestamp and a value or `null` per variable. */
export interface SampleRow {
  readonly timestamp: string
  readonly [variable: string]: number | string | null | undefined
}
