import { Ledger, MemorySource, Partition, Pipeline, SampleFrame, Signal, Sink, type TidyRows } from "@delfos/etl"
import { TestDatabase } from "@delfos/test-utils"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { PostgresSink } from "../src/index.ts"
import {
  dayMillis,
  defaultSignals,
  expectedRows,
  mapFrame,
  minute,
  minuteFrame,
  nonFiniteRows,
  request,
  reset,
  storedRows
} from "./helpers.ts"

const day = Partition.makeUnsafe("2024-03-10")
const range = Partition.range(day)
// Samples from the day before to the day after, so neighbouring partitions have data too.
const source = minuteFrame("2024-03-09", 3)

/** Runs the pipeline for `partition` from `frame` into a fresh sink with `strategy`. */
const runPipeline = (
  frame: typeof source,
  partition: Partition.Partition,
  options: PostgresSink.LayerFromClientOptions = {},
  pipeline: Pipeline.PipelineOptions = {}
) =>
  Pipeline.run(partition, { name: "test", ...pipeline }).pipe(
    Effect.provide(Layer.merge(MemorySource.layer(frame), PostgresSink.layerFromClient(options)))
  )

const at = (hour: number, min = 0) => range.start + hour * 3_600_000 + min * minute
const within = (t: number, from: number, minutes: number) => t >= from && t < from + minutes * minute

// The source after a change: the 10:00 window lost every sample, the 12:00 window's wind speeds
// were corrected, and the 14:00 window kept a single power sample (so it has no std row).
const changed = mapFrame(source, (t, variable, value) => {
  if (within(t, at(10), 10)) return Number.NaN
  if (within(t, at(12), 10) && variable === "wind_speed") return value * 1.5
  if (within(t, at(14), 10) && variable === "power" && t !== at(14, 3)) return Number.NaN
  return value
})

const keysOf = (rows: ReadonlyArray<TidyRows.TidyRow>) => new Set(rows.map((row) => `${row.signal}@${row.timestamp}`))

layer(TestDatabase.pgClientLayer(), { timeout: "3 minutes", excludeTestServices: true })("PostgresSink", (it) => {
  for (const strategy of ["upsert", "replace"] as const) {
    describe(strategy, () => {
      it.effect("writes the rows the core computes for the day, and nothing else", () =>
        Effect.gen(function* () {
          yield* reset
          const report = yield* runPipeline(source, day, { strategy })
          const expected = expectedRows(source, day)
          expect(expected.length).toBeGreaterThan(1000)
          expect(report.rowsWritten).toBe(expected.length)
          expect(report.rowsDeleted).toBe(0)
          expect(yield* storedRows()).toEqual(expected)
          expect(yield* nonFiniteRows).toBe(0)
        })
      )

      it.effect("re-loading the same data leaves the table as it was", () =>
        Effect.gen(function* () {
          yield* reset
          const sql = yield* SqlClient.SqlClient
          yield* runPipeline(source, day, { strategy })
          const before = yield* storedRows()
          // A row's version and its lock marker: an insert, update or row lock changes one of them.
          const versions = sql<{ v: string }>`SELECT xmin::text || '/' || xmax::text AS v FROM data
            ORDER BY signal_id, timestamp`
          const versionsBefore = yield* versions
          const report = yield* runPipeline(source, day, { strategy })
          expect(report.rowsDeleted).toBe(0)
          expect(report.rowsWritten).toBe(before.length)
          expect(yield* storedRows()).toEqual(before)
          // Upsert does not even lock an unchanged row, let alone write a new version of it.
          if (strategy === "upsert") expect(yield* versions).toEqual(versionsBefore)
        })
      )

      it.effect("re-loading after the source changed leaves exactly the new result, no stale row", () =>
        Effect.gen(function* () {
          yield* reset
          yield* runPipeline(source, day, { strategy })
          const before = expectedRows(source, day)
          const after = expectedRows(changed, day)
          const report = yield* runPipeline(changed, day, { strategy })
          const stored = yield* storedRows()
          expect(stored).toEqual(after)
          const stale = [...keysOf(before)].filter((key) => !keysOf(after).has(key))
          // The 10:00 window's 8 rows and the 14:00 window's power_std.
          expect(stale).toHaveLength(9)
          expect(report.rowsDeleted).toBe(stale.length)
          expect(stored.filter((row) => Date.parse(row.timestamp) === at(10))).toEqual([])
          const windSpeed = (rows: ReadonlyArray<TidyRows.TidyRow>) =>
            rows.find((row) => Date.parse(row.timestamp) === at(12) && row.signal === "wind_speed_mean")!.value
          expect(windSpeed(stored)).toBeCloseTo(windSpeed(before) * 1.5, 9)
        })
      )

      it.effect("leaves other partitions and other signals untouched", () =>
        Effect.gen(function* () {
          yield* reset
          const before = Partition.makeUnsafe("2024-03-09")
          const after = Partition.makeUnsafe("2024-03-11")
          const temperature = [Signal.Variable.make("ambient_temperature")]
          const temperatureFrame = SampleFrame.make(source.timestamps, {
            ...source.columns,
            ambient_temperature: source.timestamps.map((t) => 20 + t / dayMillis)
          })
          yield* runPipeline(temperatureFrame, before, { strategy })
          yield* runPipeline(temperatureFrame, day, { strategy })
          yield* runPipeline(temperatureFrame, after, { strategy })
          yield* runPipeline(temperatureFrame, day, { strategy }, { name: "temperature", variables: temperature })
          const neighbours = [
            ...(yield* storedRows(Partition.range(before))),
            ...(yield* storedRows(Partition.range(after)))
          ]
          const temperatureRows = (yield* storedRows(range)).filter((row) => row.signal.startsWith("ambient"))
          expect(neighbours).toEqual([...expectedRows(source, before), ...expectedRows(source, after)])
          expect(temperatureRows).toEqual(expectedRows(temperatureFrame, day, temperature))

          // The day's samples all vanish from the source: its wind and power rows go, nothing else does.
          const empty = mapFrame(source, (t, _variable, value) =>
            t >= range.start && t < range.end ? Number.NaN : value
          )
          const report = yield* runPipeline(empty, day, { strategy })
          expect(report.rowsDeleted).toBe(expectedRows(source, day).length)
          expect(yield* storedRows(range)).toEqual(temperatureRows)
          expect([
            ...(yield* storedRows(Partition.range(before))),
            ...(yield* storedRows(Partition.range(after)))
          ]).toEqual(neighbours)
        })
      )

      it.effect("a load failing midway (a later batch breaks the CHECK) keeps the previous rows exactly", () =>
        Effect.gen(function* () {
          yield* reset
          const sql = yield* SqlClient.SqlClient
          yield* runPipeline(source, day, { strategy })
          yield* runPipeline(source, Partition.makeUnsafe("2024-03-11"), { strategy })
          const before = yield* storedRows()

          // The database itself turns 666 into NaN, past the sink's own check, so the CHECK
          // constraint fails the statement of a late batch, after the delete and earlier batches ran.
          yield* sql`CREATE OR REPLACE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.value = 666 THEN NEW.value := 'NaN'; END IF;
              RETURN NEW;
            END $$`
          yield* sql`CREATE TRIGGER test_poison BEFORE INSERT OR UPDATE ON data
            FOR EACH ROW EXECUTE FUNCTION test_poison()`
          const rows = expectedRows(changed, day)
          rows[rows.length - 3] = { ...rows[rows.length - 3]!, value: 666 }
          const sink = yield* PostgresSink.make({ strategy, batchSize: 100 })
          const error = yield* sink
            .load(request(day, rows))
            .pipe(Effect.flip, Effect.ensuring(Effect.orDie(sql`DROP TRIGGER test_poison ON data`)))

          expect(error).toBeInstanceOf(Sink.SinkLoadFailed)
          expect(error.message).toContain("data_value_finite")
          expect(error.message).toContain("2024-03-10")
          expect(yield* storedRows()).toEqual(before)
          expect(yield* nonFiniteRows).toBe(0)
        })
      )

      it.effect("two loads of one partition at once end as one of them, never a mix", () =>
        Effect.gen(function* () {
          yield* reset
          const other = mapFrame(source, (t, variable, value) =>
            within(t, at(3), 10) ? Number.NaN : variable === "power" ? value + 1 : value * 0.9
          )
          const candidates = [expectedRows(source, day), expectedRows(changed, day), expectedRows(other, day)]
          const sinkLayer = PostgresSink.layerFromClient({ strategy })
          const load = (frame: typeof source) =>
            Pipeline.run(day, { name: "test" }).pipe(Effect.provide(MemorySource.layer(frame)))
          for (let round = 0; round < 4; round++) {
            const [first, second] = round % 2 === 0 ? [changed, other] : [other, changed]
            yield* Effect.all([load(first), load(second)], { concurrency: 2 }).pipe(Effect.provide(sinkLayer))
            const stored = yield* storedRows()
            expect(candidates.slice(1).some((rows) => JSON.stringify(rows) === JSON.stringify(stored))).toBe(true)
          }
        })
      )

      it.effect("refuses NaN, ±Infinity, foreign signals, rows outside the day and duplicates, touching nothing", () =>
        Effect.gen(function* () {
          yield* reset
          yield* runPipeline(source, day, { strategy })
          const before = yield* storedRows()
          const sql = yield* SqlClient.SqlClient
          const signalsBefore = yield* sql`SELECT id, name FROM signal ORDER BY id`
          const sink = yield* PostgresSink.make({ strategy })
          const good = request(day, expectedRows(changed, day))
          const poisoned = (i: number, value: number): TidyRows.TidyRows => {
            const values = Float64Array.from(good.rows.values)
            values[i] = value
            return { ...good.rows, values }
          }
          const refusals = [
            { ...good, rows: poisoned(5, Number.NaN) },
            { ...good, rows: poisoned(good.rows.length - 1, Number.POSITIVE_INFINITY) },
            { ...good, rows: poisoned(0, Number.NEGATIVE_INFINITY) },
            { ...good, signals: defaultSignals.filter((signal) => signal !== "power_std") },
            request(day, [{ timestamp: range.end, signal: Signal.SignalName.make("power_mean"), value: 1 }]),
            request(day, [
              { timestamp: range.start, signal: Signal.SignalName.make("power_mean"), value: 1 },
              { timestamp: range.start, signal: Signal.SignalName.make("power_mean"), value: 2 }
            ])
          ]
          const reasons: Array<string> = []
          for (const refused of refusals) {
            const error = yield* Effect.flip(sink.load(refused))
            expect(error).toBeInstanceOf(Sink.SinkLoadFailed)
            reasons.push(error.reason)
          }
          expect(reasons[0]).toMatch(/row 5 .*value NaN is not finite/)
          expect(reasons[1]).toMatch(/value Infinity is not finite/)
          expect(reasons[2]).toMatch(/value -Infinity is not finite/)
          expect(reasons[3]).toMatch(/power_std is not among the load's signals/)
          expect(reasons[4]).toMatch(/outside the partition/)
          expect(reasons[5]).toMatch(/a second row for the same signal and timestamp/)
          expect(yield* storedRows()).toEqual(before)
          expect(yield* sql`SELECT id, name FROM signal ORDER BY id`).toEqual(signalsBefore)
        })
      )
    })
  }

  it.effect("a partition in a time zone holds its local day (a 23-hour DST day), nothing of the next", () =>
    Effect.gen(function* () {
      yield* reset
      const local = Partition.makeUnsafe("2018-11-04", "America/Sao_Paulo")
      const next = Partition.makeUnsafe("2018-11-05", "America/Sao_Paulo")
      const frame = minuteFrame("2018-11-03", 4)
      yield* runPipeline(frame, next)
      const nextRows = yield* storedRows(Partition.range(next))
      yield* runPipeline(frame, local)
      const stored = yield* storedRows(Partition.range(local))
      expect(stored).toEqual(expectedRows(frame, local))
      expect(new Set(stored.map((row) => row.timestamp)).size).toBe(138)
      expect(yield* storedRows(Partition.range(next))).toEqual(nextRows)
    })
  )

  it.effect("two sinks creating the same new signal at once both succeed and share its id", () =>
    Effect.gen(function* () {
      yield* reset
      const sql = yield* SqlClient.SqlClient
      const signal = Signal.SignalName.make("rotor_speed_mean")
      const rows = (partition: Partition.Partition, value: number) =>
        request(partition, [{ timestamp: Partition.range(partition).start, signal, value }], [signal])
      const days = ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"].map((d) => Partition.makeUnsafe(d))
      const sinks = yield* Effect.all(days.map(() => PostgresSink.make()))
      const results = yield* Effect.all(
        days.map((partition, i) => sinks[i]!.load(rows(partition, i))),
        { concurrency: "unbounded" }
      )
      expect(results).toEqual(days.map(() => ({ rowsWritten: 1, rowsDeleted: 0 })))
      expect(yield* sql`SELECT count(*)::int AS n FROM signal WHERE name = ${signal}`).toEqual([{ n: 1 }])
      expect(yield* sql`SELECT count(DISTINCT signal_id)::int AS n, count(*)::int AS rows FROM data`).toEqual([
        { n: 1, rows: 4 }
      ])
      // A sink's cache holds the id it resolved: a later load finds it without creating anything.
      expect(yield* sinks[0]!.load(rows(days[0]!, 9))).toEqual({ rowsWritten: 1, rowsDeleted: 0 })
      expect(yield* sql`SELECT value FROM data ORDER BY timestamp LIMIT 1`).toEqual([{ value: 9 }])
    })
  )

  it.effect("PostgresSink.layer: its own pool from a URL, migrations, the sink", () =>
    Effect.gen(function* () {
      yield* reset
      const db = yield* TestDatabase.TestDatabase
      const program = Effect.gen(function* () {
        const report = yield* Pipeline.run(day, { name: "from-url" })
        return { report, sink: (yield* Sink.Sink).name }
      })
      const { report, sink } = yield* program.pipe(
        Effect.provide(
          Layer.merge(
            MemorySource.layer(source),
            PostgresSink.layer({ url: db.url, maxConnections: db.maxConnections })
          )
        )
      )
      expect(report.status).toBe("succeeded")
      expect(sink).toMatch(/^postgres:\/\/\w+@127\.0\.0\.1:\d+\/\w+$/)
      expect(yield* storedRows()).toEqual(expectedRows(source, day))
    })
  )

  it.effect("PostgresSink.layerWithLedger: the sink and the run ledger on one pool from a URL", () =>
    Effect.gen(function* () {
      yield* reset
      const db = yield* TestDatabase.TestDatabase
      const program = Effect.gen(function* () {
        const report = yield* Pipeline.runRecorded(day, { name: "from-url" })
        const history = yield* (yield* Ledger.Ledger).history("from-url")
        return { report, history, sink: (yield* Sink.Sink).name }
      })
      const { history, report, sink } = yield* program.pipe(
        Effect.provide(
          Layer.merge(
            MemorySource.layer(source),
            PostgresSink.layerWithLedger({ url: db.url, maxConnections: db.maxConnections })
          )
        )
      )
      expect(report.status).toBe("succeeded")
      expect(history.map((run) => [run.day, run.status, run.rowsWritten])).toEqual([
        ["2024-03-10", "succeeded", report.rowsWritten]
      ])
      expect(sink).toMatch(/^postgres:\/\/\w+@127\.0\.0\.1:\d+\/\w+$/)
      expect(yield* storedRows()).toEqual(expectedRows(source, day))
    })
  )
})
