import { MemorySource, Partition, Source } from "@delfos/etl"
import { TestDatabase } from "@delfos/test-utils"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { PostgresSink, RunLedger } from "../src/index.ts"
import { minuteFrame, reset } from "./helpers.ts"

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

layer(TestDatabase.pgClientLayer(), { timeout: "2 minutes", excludeTestServices: true })("RunLedger", (it) => {
  it.effect("records running, then succeeded or failed, numbering the attempts of a partition", () =>
    Effect.gen(function* () {
      yield* reset
      const ledger = yield* RunLedger.RunLedger
      const first = yield* ledger.start("daily", day)
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
        error: null
      })
      yield* ledger.fail(first, "worker crashed")

      const succeeded = yield* RunLedger.record(day, { name: "daily" }).pipe(Effect.provide(source))
      const failed = yield* RunLedger.record(day, { name: "daily" }).pipe(Effect.provide(sourceDown))
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
      const ledger = yield* RunLedger.RunLedger
      const days = ["2024-03-09", "2024-03-10", "2024-03-11"].map((d) => Partition.makeUnsafe(d))
      for (const partition of days) yield* RunLedger.record(partition, { name: "daily" })
      yield* RunLedger.record(days[1]!, { name: "daily" })
      yield* RunLedger.record(days[1]!, { name: "other" })
      const latest = yield* ledger.start("daily", days[2]!)

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
    }).pipe(Effect.provide(Layer.merge(ledgerLayer, source)))
  )

  it.effect("an interrupted run is recorded as failed", () =>
    Effect.gen(function* () {
      yield* reset
      const ledger = yield* RunLedger.RunLedger
      const stuck = Layer.succeed(Source.Source, Source.Source.of({ name: "stuck", extract: () => Stream.never }))
      const outcome = yield* RunLedger.record(day, { name: "daily" }).pipe(
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
      const ledger = yield* RunLedger.RunLedger
      const ids = yield* Effect.all(
        Array.from({ length: 6 }, () => ledger.start("daily", day)),
        { concurrency: "unbounded" }
      )
      expect(new Set(ids).size).toBe(6)
      const runs = yield* ledger.runs("daily", day)
      expect(runs.map((run) => run.attempt)).toEqual([1, 2, 3, 4, 5, 6])
    }).pipe(Effect.provide(ledgerLayer))
  )

  it.effect("finishing a run that does not exist is a RunLedgerError", () =>
    Effect.gen(function* () {
      yield* reset
      const ledger = yield* RunLedger.RunLedger
      const error = yield* Effect.flip(ledger.fail(4242, "no such run"))
      expect(error).toBeInstanceOf(RunLedger.RunLedgerError)
      expect(error.message).toBe("run ledger: fail run 4242 failed: no such run")
    }).pipe(Effect.provide(ledgerLayer))
  )
})
