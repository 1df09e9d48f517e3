import { Ledger, MemorySource, Partition, Pipeline, Runner, Source } from "@delfos/etl"
import { TestDatabase } from "@delfos/test-utils"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { PostgresSink, RunLedger } from "../src/index.ts"
import { minuteFrame, reset, storedRows } from "./helpers.ts"

const day = Partition.makeUnsafe("2024-03-10")
const source = MemorySource.layer(minuteFrame("2024-03-10", 1))
const sourceDown = Layer.succeed(
  Source.Source,
  Source.Source.of({
    name: "down",
    extract: () => Stream.fail(new Source.SourceUnavailable({ source: "http://fonte", reason: "connection refused" }))
  })
)

const ledgerLayer = Layer.merge(RunLedger.layerFromClient, PostgresSink.layerFromClient())
/** A source that answers, like a fonte with no data for the day, with no sample at all. */
const noSamples = MemorySource.layer(minuteFrame("2024-01-01", 1))

layer(TestDatabase.pgClientLayer(), { timeout: "2 minutes", excludeTestServices: true })("RunLedger", (it) => {
  it.effect("records running, then succeeded or failed, numbering the attempts of a partition", () =>
    Effect.gen(function* () {
      yield* reset
      const ledger = yield* Ledger.Ledger
      const first = yield* ledger.start("daily", [day], "test:1").pipe(Effect.map((ids) => ids[0]!))
      const [running] = yield* ledger.runs("daily", day)
      expect(running).toMatchObject({
        id: first,
        pipeline: "daily",
        day: "2024-03-10",
        timeZone: "UTC",
        status: "running",
        attempt: 1,
        rowsWritten: null,
        finishedAt: null,
        heartbeatAt: running!.startedAt,
        error: null,
        runner: "test:1"
      })
      yield* ledger.fail([first], "worker crashed")

      const succeeded = yield* Pipeline.runRecorded(day, { name: "daily" }).pipe(Effect.provide(source))
      const failed = yield* Pipeline.runRecorded(day, { name: "daily" }).pipe(Effect.provide(sourceDown))
      expect(succeeded.status).toBe("succeeded")
      expect(failed.status).toBe("failed")

      const runs = yield* ledger.runs("daily", day)
      expect(runs.map((run) => [run.attempt, run.status, run.error])).toEqual([
        [1, "failed", "worker crashed"],
        [2, "succeeded", null],
        [3, "failed", "SourceUnavailable: source unavailable at http://fonte: connection refused"]
      ])
      expect(runs[1]).toMatchObject({
        samplesRead: 1440,
        rowsWritten: succeeded.rowsWritten,
        rowsDeleted: 0
      })
      for (const run of runs) expect(Date.parse(run.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(run.startedAt))
    }).pipe(Effect.provide(ledgerLayer))
  )

  it.effect("history: the latest run of each day, within the days asked for, of one pipeline only", () =>
    Effect.gen(function* () {
      yield* reset
      const ledger = yield* Ledger.Ledger
      const days = ["2024-03-09", "2024-03-10", "2024-03-11"].map((d) => Partition.makeUnsafe(d))
      for (const partition of days) yield* Pipeline.runRecorded(partition, { name: "daily" })
      yield* Pipeline.runRecorded(days[1]!, { name: "daily" })
      yield* Pipeline.runRecorded(days[1]!, { name: "other" })
      const latest = yield* ledger.start("daily", [days[2]!], "test:1").pipe(Effect.map((ids) => ids[0]!))

      const history = yield* ledger.history("daily")
      expect(history.map((run) => [run.day, run.attempt, run.status])).toEqual([
        ["2024-03-09", 1, "succeeded"],
        ["2024-03-10", 2, "succeeded"],
        ["2024-03-11", 2, "running"]
      ])
      expect(history[2]!.id).toBe(latest)
      const window = yield* ledger.history("daily", {
        from: Partition.Day.make("2024-03-10"),
        to: Partition.Day.make("2024-03-10")
      })
      expect(window.map((run) => run.day)).toEqual(["2024-03-10"])
      expect(yield* ledger.history("nobody")).toEqual([])
    }).pipe(Effect.provide(Layer.merge(ledgerLayer, MemorySource.layer(minuteFrame("2024-03-09", 3)))))
  )

  it.effect("an interrupted run is recorded as failed", () =>
    Effect.gen(function* () {
      yield* reset
      const ledger = yield* Ledger.Ledger
      const stuck = Layer.succeed(Source.Source, Source.Source.of({ name: "stuck", extract: () => Stream.never }))
      const outcome = yield* Pipeline.runRecorded(day, { name: "daily" }).pipe(
        Effect.provide(stuck),
        Effect.timeoutOption("300 millis")
      )
      expect(outcome._tag).toBe("None")
      const runs = yield* ledger.runs("daily", day)
      expect(runs.map((run) => [run.attempt, run.status, run.error])).toEqual([[1, "failed", "interrupted"]])
    }).pipe(Effect.provide(ledgerLayer))
  )

  it.effect("runs of one partition starting at once get distinct attempt numbers", () =>
    Effect.gen(function* () {
      yield* reset
      const ledger = yield* Ledger.Ledger
      const ids = yield* Effect.all(
        Array.from({ length: 6 }, () => ledger.start("daily", [day], "test:1").pipe(Effect.map((ids) => ids[0]!))),
        { concurrency: "unbounded" }
      )
      expect(new Set(ids).size).toBe(6)
      const runs = yield* ledger.runs("daily", day)
      expect(runs.map((run) => run.attempt)).toEqual([1, 2, 3, 4, 5, 6])
    }).pipe(Effect.provide(ledgerLayer))
  )

  it.effect("finishing a run that does not exist is a LedgerError", () =>
    Effect.gen(function* () {
      yield* reset
      const ledger = yield* Ledger.Ledger
      const error = yield* Effect.flip(ledger.fail([4242], "no such run"))
      expect(error).toBeInstanceOf(Ledger.LedgerError)
      expect(error.message).toBe("run ledger: fail run 4242 failed: no such run")
      expect((yield* Effect.flip(ledger.heartbeat([4242]))).message).toBe(
        "run ledger: heartbeat run 4242 failed: no such run"
      )
    }).pipe(Effect.provide(ledgerLayer))
  )

  it.effect("records an empty run (no sample from the source) as `empty`, rows kept; allowEmpty removes them", () =>
    Effect.gen(function* () {
      yield* reset
      const ledger = yield* Ledger.Ledger
      const loaded = yield* Pipeline.runRecorded(day, { name: "daily" }).pipe(Effect.provide(source))
      const rows = yield* storedRows()
      expect(rows.length).toBe(loaded.rowsWritten)
      const empty = yield* Pipeline.runRecorded(day, { name: "daily" }).pipe(Effect.provide(noSamples))
      expect(empty).toMatchObject({ status: "empty", rowsWritten: 0, rowsDeleted: 0 })
      expect(yield* storedRows()).toEqual(rows)
      const cleared = yield* Pipeline.runRecorded(day, { name: "daily", allowEmpty: true }).pipe(
        Effect.provide(noSamples)
      )
      expect(cleared).toMatchObject({ status: "empty", rowsWritten: 0, rowsDeleted: rows.length })
      expect(yield* storedRows()).toEqual([])
      const runs = yield* ledger.runs("daily", day)
      expect(runs.map((run) => [run.attempt, run.status, run.rowsDeleted])).toEqual([
        [1, "succeeded", 0],
        [2, "empty", 0],
        [3, "empty", rows.length]
      ])
    }).pipe(Effect.provide(ledgerLayer))
  )

  it.effect("a heartbeat moves a running run's heartbeat_at, never a finished run's; the runner is recorded", () =>
    Effect.gen(function* () {
      yield* reset
      const ledger = yield* Ledger.Ledger
      const id = yield* ledger.start("daily", [day], "host-a:42").pipe(Effect.map((ids) => ids[0]!))
      const [before] = yield* ledger.runs("daily", day)
      yield* Effect.sleep("20 millis")
      yield* ledger.heartbeat([id])
      const [beating] = yield* ledger.runs("daily", day)
      expect(Date.parse(beating!.heartbeatAt)).toBeGreaterThan(Date.parse(before!.heartbeatAt))
      expect(beating!.runner).toBe("host-a:42")
      yield* ledger.fail([id], "crashed")
      const [failed] = yield* ledger.runs("daily", day)
      yield* Effect.sleep("20 millis")
      yield* ledger.heartbeat([id])
      const [after] = yield* ledger.runs("daily", day)
      expect(after!.heartbeatAt).toBe(failed!.heartbeatAt)
      expect(after!.status).toBe("failed")
    }).pipe(Effect.provide(ledgerLayer))
  )

  it.effect("a run in progress beats every heartbeatInterval; the Runner's id is recorded", () =>
    Effect.gen(function* () {
      yield* reset
      const ledger = yield* Ledger.Ledger
      // A source that takes 400 ms, with a heartbeat every 100 ms.
      const slow = Layer.succeed(
        Source.Source,
        Source.Source.of({
          name: "slow",
          extract: () => Stream.fromEffectDrain(Effect.sleep("400 millis"))
        })
      )
      const beats: Array<string> = []
      const watch = Effect.gen(function* () {
        for (let i = 0; i < 6; i++) {
          yield* Effect.sleep("60 millis")
          const [run] = yield* ledger.runs("daily", day)
          if (run !== undefined && run.status === "running") beats.push(run.heartbeatAt)
        }
      })
      const [report] = yield* Effect.all(
        [
          Pipeline.runRecorded(day, { name: "daily" }).pipe(
            Effect.provide(slow),
            Effect.provideService(Runner.Runner, Runner.make({ id: "beater:7", heartbeatInterval: 100 }))
          ),
          watch
        ],
        { concurrency: "unbounded" }
      )
      expect(report.status).toBe("empty")
      expect(new Set(beats).size).toBeGreaterThanOrEqual(2)
      const [run] = yield* ledger.runs("daily", day)
      expect(run).toMatchObject({ status: "empty", runner: "beater:7" })
    }).pipe(Effect.provide(ledgerLayer))
  )
})
