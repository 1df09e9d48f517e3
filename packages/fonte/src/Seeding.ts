/**
 * Seeding a farm's store with generated data: what `POST /api/v1/sensors/populate_database` does,
 * for callers that hold the database itself (`delfos-etl fonte seed --database-url`, benches). The
 * turbines are added (with their layout), then every turbine-day of the range is replaced by the
 * generator's, turbine by turbine, day by day, generated as the database takes them.
 */
import type { BulkCopy } from "@delfos/postgres"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as SqlError from "effect/sql/SqlError"
import * as Generator from "./Generator.ts"
import { SensorStore, type StoreError } from "./SensorStore.ts"

export interface SeedOptions {
  /** The first day's midnight (or a whole minute), epoch ms. */
  readonly start: number
  readonly days: number
  /** 42 by default. */
  readonly seed?: number | undefined
  /** WTG01 to WTGnn; 1 by default. */
  readonly turbines?: number | undefined
}

const dayMillis = 86_400_000

/** Replaces the range of the farm's first `turbines` turbines with generated samples; returns the rows written. */
export const seed: (
  options: SeedOptions
) => Effect.Effect<number, SqlError.SqlError | BulkCopy.BulkCopyError | StoreError, SensorStore> = Effect.fn(
  "Seeding.seed"
)(function* (options: SeedOptions) {
  const store = yield* SensorStore
  const fleet = Generator.turbines(options.turbines ?? 1)
  yield* store.register(
    fleet.map(({ ratedPower, turbineId, x, y }) => ({ turbineId, ratedPower, x, y })),
    "update"
  )
  // A fleet-year is never held whole, and each turbine's rows reach the table's key in order.
  const farm = Generator.farm(options.seed ?? 42)
  const turbineDays = fleet.flatMap((turbine) =>
    Array.from({ length: options.days }, (_, d) => ({ turbine, dayStart: options.start + d * dayMillis }))
  )
  const frames = Stream.fromIterable(turbineDays, { chunkSize: 1 }).pipe(
    Stream.map(({ dayStart, turbine }) => ({
      turbineId: turbine.turbineId,
      frame: farm.turbineDay(turbine.number, dayStart)
    }))
  )
  return yield* store.replace({
    turbines: fleet.map((turbine) => turbine.turbineId),
    start: options.start,
    end: options.start + options.days * dayMillis,
    frames
  })
})
