/**
 * Shared by the integration tests: reproducible minute samples, the rows the core computes from
 * them (what the sink must hold after a load), and what the tables actually hold.
 */
import { Partition, Resample, SampleFrame, Signal, type Sink, TidyRows, Timestamp, Unpivot } from "@delfos/etl"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { Migrations } from "../src/index.ts"

export const minute = 60_000
export const dayMillis = 86_400_000

/**
 * Minute samples of `wind_speed` and `power` for `days` days from `from`, reproducible from `seed`
 * (a small LCG), with a missing power value now and then.
 */
export const minuteFrame = (from: string, days: number, seed = 1): SampleFrame.SampleFrame => {
  const start = Timestamp.parse(from)
  const length = days * 1440
  const timestamps = new Float64Array(length)
  const wind = new Float64Array(length)
  const power = new Float64Array(length)
  let state = seed >>> 0
  const random = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
    return state / 2 ** 32
  }
  for (let i = 0; i < length; i++) {
    timestamps[i] = start + i * minute
    wind[i] = 8 + 4 * Math.sin(i / 200) + random() * 2
    power[i] = random() < 0.02 ? Number.NaN : Math.min(5000, 12 * wind[i]! ** 3) + random() * 50
  }
  return SampleFrame.make(timestamps, { wind_speed: wind, power })
}

/** A copy of `frame` with `change(t, variable, value)` applied to each value (`NaN` drops it). */
export const mapFrame = (
  frame: SampleFrame.SampleFrame,
  change: (t: number, variable: string, value: number) => number
): SampleFrame.SampleFrame =>
  SampleFrame.make(
    Float64Array.from(frame.timestamps),
    Object.fromEntries(
      Object.entries(frame.columns).map(([variable, column]) => [
        variable,
        column.map((value, i) => change(frame.timestamps[i]!, variable, value))
      ])
    )
  )

/** The rows the core computes for `partition` from `frame`. */
export const expectedRows = (
  frame: SampleFrame.SampleFrame,
  partition: Partition.Partition,
  variables: ReadonlyArray<Signal.Variable> = Signal.defaultVariables
): Array<TidyRows.TidyRow> =>
  TidyRows.toArray(Unpivot.unpivot(Resample.resample(frame, { range: Partition.range(partition), variables })))

/** A load request for `rows` over a whole partition, owning the default signals. */
export const request = (
  partition: Partition.Partition,
  rows: Parameters<typeof TidyRows.fromArray>[0],
  signals: ReadonlyArray<Signal.SignalName> = defaultSignals
): Sink.LoadRequest => ({
  pipeline: "test",
  partition,
  range: Partition.range(partition),
  signals,
  rows: TidyRows.fromArray(rows)
})

export const defaultSignals: ReadonlyArray<Signal.SignalName> = Signal.defaultVariables
  .flatMap((variable) => Signal.defaultStatistics.map((statistic) => Signal.signalName(variable, statistic)))
  .sort()

/** The stored rows (in `range` when given), sorted as `Unpivot` sorts: by timestamp, then signal. */
export const storedRows = (range?: Partition.TimeRange) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ timestamp: Date; signal: Signal.SignalName; value: number }>`
      SELECT d.timestamp, s.name AS signal, d.value
      FROM data AS d JOIN signal AS s ON s.id = d.signal_id
      ${range === undefined ? sql`` : sql`WHERE d.timestamp >= ${new Date(range.start)} AND d.timestamp < ${new Date(range.end)}`}
      ORDER BY d.timestamp, s.name COLLATE "C"`
    return rows.map((row) => ({ timestamp: row.timestamp.toISOString(), signal: row.signal, value: row.value }))
  })

/** Rows holding NaN or ±Infinity: always 0 (the CHECK constraint and the sink's own check). */
export const nonFiniteRows = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM data
    WHERE value = 'NaN'::float8 OR value = 'Infinity'::float8 OR value = '-Infinity'::float8`
  return row!.n
})

/** The alvo schema, migrated and empty. */
export const reset = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* Migrations.migrate
  yield* sql`TRUNCATE data, signal, asset, quality, etl_run RESTART IDENTITY`
})
