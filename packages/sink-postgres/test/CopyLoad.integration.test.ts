/**
 * The load by binary COPY, as `layerFromClient({ copy: true })` picks it on a Postgres server (on
 * the embedded database the same layer picks the unnest statements, and these tests check that
 * path instead): a day of several turbines in one `loadBatch`, its guarantees against a real
 * server: stale rows removed, idempotent, all or nothing, one load of a partition at a time.
 */
import { Asset, Partition, Resample, SampleFrame, Signal, Sink, TidyRows, Unpivot } from "@delfos/etl"
import { TestDatabase } from "@delfos/test-utils"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { PostgresSink } from "../src/index.ts"
import { mapFrame, minuteFrame, reset } from "./helpers.ts"

const turbines = ["WTG01", "WTG02", "WTG03", "WTG04"].map((id) => Asset.AssetId.make(id))
const day = Partition.Day.make("2024-03-10")
const range = Partition.range({ day, timeZone: Partition.utc })
const frames = turbines.map((asset, i) => SampleFrame.withAsset(minuteFrame("2024-03-10", 1, i + 11), asset))

/** The day's load requests for the turbines, from `input` (one frame per turbine). */
const requestsOf = (input: ReadonlyArray<SampleFrame.SampleFrame>): Array<Sink.LoadRequest> =>
  input.map((frame) => {
    const partition = Partition.makeUnsafe(day, "UTC", frame.asset)
    const windows = Resample.resample(frame, { range, asset: frame.asset, variables: Signal.defaultVariables })
    return { pipeline: "copy", partition, range, signals: Unpivot.signalsOf(windows), rows: Unpivot.unpivot(windows) }
  })

/** What the batch should leave: every turbine's rows, as `stored` reads them. */
const expectedOf = (requests: ReadonlyArray<Sink.LoadRequest>) =>
  requests
    .flatMap((request) => TidyRows.toArray(request.rows).map((row) => ({ asset: request.partition.asset!, ...row })))
    .sort(byKey)
    .map(({ asset, signal, timestamp, value }) => ({ asset, signal, timestamp, value }))

const byKey = (a: { asset: string; signal: string; timestamp: string }, b: typeof a) =>
  a.asset < b.asset
    ? -1
    : a.asset > b.asset
      ? 1
      : a.timestamp < b.timestamp
        ? -1
        : a.timestamp > b.timestamp
          ? 1
          : a.signal < b.signal
            ? -1
            : a.signal > b.signal
              ? 1
              : 0

const stored = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ asset: string; signal: string; timestamp: Date; value: number }>`
    SELECT a.name AS asset, s.name AS signal, d.timestamp, d.value
    FROM data AS d JOIN signal AS s ON s.id = d.signal_id JOIN asset AS a ON a.id = s.asset_id
    ORDER BY a.name COLLATE "C", d.timestamp, s.name COLLATE "C"`
  return rows.map((row) => ({
    asset: row.asset,
    signal: row.signal,
    timestamp: row.timestamp.toISOString(),
    value: row.value
  }))
})

// WTG02 lost its 10:00 window; every other value of every turbine moved.
const changedFrames = frames.map((frame) =>
  SampleFrame.withAsset(
    mapFrame(frame, (t, _variable, value) =>
      frame.asset === "WTG02" && t >= range.start + 10 * 3_600_000 && t < range.start + 10 * 3_600_000 + 600_000
        ? Number.NaN
        : value * 1.01
    ),
    frame.asset
  )
)

/** The sink as the layer builds it (with copies when the server takes them), for the test's scope. */
const sinkOf = Effect.map(Layer.build(PostgresSink.layerFromClient({ copy: true })), (context) =>
  Context.get(context, Sink.Sink)
)

// The sink's COPY connections are `pg`'s, named `delfos`; the test's own client is `@effect/sql-pg`.
const copyBackends = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ pid: number }>`SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND application_name = 'delfos' AND pid <> pg_backend_pid()`
  return rows.map((row) => row.pid)
})

layer(TestDatabase.pgClientLayer(), { timeout: "3 minutes", excludeTestServices: true })("CopyLoad", (it) => {
  it.effect("a batch of turbines: exactly its rows; a re-run after a change replaces them, stale rows gone", () =>
    Effect.gen(function* () {
      yield* reset
      const sink = yield* sinkOf
      const first = requestsOf(frames)
      const results = yield* sink.loadBatch!(first)
      expect(results).toEqual(first.map((request) => ({ rowsWritten: request.rows.length, rowsDeleted: 0 })))
      expect(yield* stored).toEqual(expectedOf(first))
      // On a Postgres server the layer chose COPY (its `pg` pool is connected); on PGlite, not.
      expect((yield* copyBackends).length > 0).toBe(!TestDatabase.onPglite)

      const second = requestsOf(changedFrames)
      const again = yield* sink.loadBatch!(second)
      expect(yield* stored).toEqual(expectedOf(second))
      // The 10:00 window of WTG02: its 8 rows are stale, and nobody else's.
      expect(again.map((result) => result.rowsDeleted)).toEqual([0, 8, 0, 0])
      expect(again.map((result) => result.rowsWritten)).toEqual(second.map((request) => request.rows.length))
    })
  )

  it.effect("is idempotent: the same batch again leaves the same rows, nothing stale", () =>
    Effect.gen(function* () {
      yield* reset
      const sink = yield* sinkOf
      const requests = requestsOf(frames)
      yield* sink.loadBatch!(requests)
      const before = yield* stored
      for (let run = 0; run < 2; run++) {
        const results = yield* sink.loadBatch!(requests)
        expect(results).toEqual(requests.map((request) => ({ rowsWritten: request.rows.length, rowsDeleted: 0 })))
        expect(yield* stored).toEqual(before)
      }
      // One partition alone, through `load`, the same way.
      expect(yield* sink.load(requests[2]!)).toEqual({ rowsWritten: requests[2]!.rows.length, rowsDeleted: 0 })
      expect(yield* stored).toEqual(before)
    })
  )

  it.effect("a value the database refuses midway (the CHECK on a late row) keeps every previous row", () =>
    Effect.gen(function* () {
      yield* reset
      const sql = yield* SqlClient.SqlClient
      const sink = yield* sinkOf
      yield* sink.loadBatch!(requestsOf(frames))
      const before = yield* stored
      // The database turns 666 into NaN, past the sink's own check: the CHECK constraint fails on
      // the last turbine's rows, after the delete and the other turbines' rows went in.
      yield* sql`CREATE OR REPLACE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.value = 666 THEN NEW.value := 'NaN'; END IF;
          RETURN NEW;
        END $$`
      yield* sql`CREATE TRIGGER test_poison BEFORE INSERT ON data FOR EACH ROW EXECUTE FUNCTION test_poison()`
      const requests = requestsOf(changedFrames)
      const last = requests[3]!
      const values = Float64Array.from(last.rows.values)
      values[values.length - 2] = 666
      requests[3] = { ...last, rows: { ...last.rows, values } }
      const error = yield* sink.loadBatch!(requests).pipe(
        Effect.flip,
        Effect.ensuring(Effect.orDie(sql`DROP TRIGGER test_poison ON data`))
      )
      expect(error).toBeInstanceOf(Sink.SinkLoadFailed)
      expect(error.message).toContain("data_value_finite")
      expect(yield* stored).toEqual(before)
      // And the sink goes on: the next load writes.
      yield* sink.loadBatch!(requestsOf(changedFrames))
      expect(yield* stored).toEqual(expectedOf(requestsOf(changedFrames)))
    })
  )

  it.effect.skipIf(TestDatabase.onPglite)(
    "a connection killed midway keeps every previous row, and the next load works [skipped on PGlite: one backend, nothing to kill]",
    () =>
      Effect.gen(function* () {
        yield* reset
        const sql = yield* SqlClient.SqlClient
        const sink = yield* sinkOf
        yield* sink.loadBatch!(requestsOf(frames))
        const before = yield* stored
        // A row of 777 makes the load wait inside its transaction, after the delete: then its
        // backend is terminated.
        yield* sql`CREATE OR REPLACE FUNCTION test_stall() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF NEW.value = 777 THEN PERFORM pg_sleep(30); END IF;
            RETURN NEW;
          END $$`
        yield* sql`CREATE TRIGGER test_stall BEFORE INSERT ON data FOR EACH ROW EXECUTE FUNCTION test_stall()`
        const requests = requestsOf(changedFrames)
        const values = Float64Array.from(requests[1]!.rows.values)
        values[5] = 777
        requests[1] = { ...requests[1]!, rows: { ...requests[1]!.rows, values } }
        const load = yield* Effect.forkChild(Effect.flip(sink.loadBatch!(requests)))
        const stalled = sql<{ pid: number }>`SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event = 'PgSleep'`
        let pids: ReadonlyArray<{ pid: number }> = []
        for (let i = 0; i < 200 && pids.length === 0; i++) {
          pids = yield* stalled
          if (pids.length === 0) yield* Effect.sleep("50 millis")
        }
        expect(pids).toHaveLength(1)
        yield* sql`SELECT pg_terminate_backend(${pids[0]!.pid})`
        const error = yield* Fiber.join(load)
        yield* sql`DROP TRIGGER test_stall ON data`
        expect(["SinkLoadFailed", "SinkUnavailable"]).toContain(error._tag)
        expect(yield* stored).toEqual(before)
        yield* sink.loadBatch!(requestsOf(changedFrames))
        expect(yield* stored).toEqual(expectedOf(requestsOf(changedFrames)))
      })
  )

  it.effect.skipIf(TestDatabase.onPglite)(
    "two loads of the same partitions at once take turns: the second waits for the first's lock and wins [skipped on PGlite: its sessions take turns anyway]",
    () =>
      Effect.gen(function* () {
        yield* reset
        const sql = yield* SqlClient.SqlClient
        const sink = yield* sinkOf
        yield* sink.loadBatch!(requestsOf(frames))
        // The first load stalls inside its transaction (holding the partitions' locks) on a row of 555.
        yield* sql`CREATE OR REPLACE FUNCTION test_stall() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF NEW.value = 555 THEN PERFORM pg_sleep(1.5); END IF;
            RETURN NEW;
          END $$`
        yield* sql`CREATE TRIGGER test_stall BEFORE INSERT ON data FOR EACH ROW EXECUTE FUNCTION test_stall()`
        const slow = requestsOf(frames)
        const values = Float64Array.from(slow[0]!.rows.values)
        values[0] = 555
        slow[0] = { ...slow[0]!, rows: { ...slow[0]!.rows, values } }
        const fast = requestsOf(changedFrames)
        const first = yield* Effect.forkChild(sink.loadBatch!(slow))
        const waitFor = (query: Effect.Effect<ReadonlyArray<unknown>, unknown>) =>
          Effect.gen(function* () {
            for (let i = 0; i < 200; i++) {
              if ((yield* Effect.orDie(query)).length > 0) return true
              yield* Effect.sleep("25 millis")
            }
            return false
          })
        expect(
          yield* waitFor(
            sql`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'`
          )
        ).toBe(true)
        const second = yield* Effect.forkChild(sink.loadBatch!(fast))
        // The second waits on an advisory lock the first holds, instead of interleaving with it.
        expect(yield* waitFor(sql`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).toBe(true)
        yield* Fiber.join(first)
        const results = yield* Fiber.join(second)
        yield* sql`DROP TRIGGER test_stall ON data`
        expect(results.map((result) => result.rowsDeleted)).toEqual([0, 8, 0, 0])
        expect(yield* stored).toEqual(expectedOf(fast))
      })
  )
})
