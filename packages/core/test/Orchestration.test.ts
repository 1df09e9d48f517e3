import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import * as Backfill from "../src/Backfill.ts"
import * as LedgerModule from "../src/Ledger.ts"
import { Ledger, LedgerError, type Run } from "../src/Ledger.ts"
import * as MemoryLedger from "../src/MemoryLedger.ts"
import * as MemorySink from "../src/MemorySink.ts"
import * as MemorySource from "../src/MemorySource.ts"
import * as Partition from "../src/Partition.ts"
import * as Partitions from "../src/Partitions.ts"
import * as Pipeline from "../src/Pipeline.ts"
import * as Runner from "../src/Runner.ts"
import * as SampleFrame from "../src/SampleFrame.ts"
import * as Scheduler from "../src/Scheduler.ts"
import * as SourceModule from "../src/Source.ts"
import { Source, SourceUnavailable } from "../src/Source.ts"

/** Ten days of minute samples from 2024-01-01. */
const tenDays = (() => {
  const start = Date.UTC(2024, 0, 1)
  const n = 10 * 1440
  return SampleFrame.make(
    Float64Array.from({ length: n }, (_, i) => start + i * 60_000),
    {
      wind_speed: Float64Array.from({ length: n }, (_, i) => 8 + Math.sin(i / 50)),
      power: Float64Array.from({ length: n }, (_, i) => 2000 + 500 * Math.cos(i / 70))
    }
  )
})()

const definition: Partitions.Definition = {
  name: "test",
  startDay: Partition.Day.make("2024-01-01"),
  timeZone: Partition.utc
}

/**
 * A source that fails `failures(day)` times for a day before serving it, counting extracts and
 * recording the clock's time at each (`startedAt`, per day).
 */
const flaky = (failures: (day: string) => number) => {
  const calls = new Map<string, number>()
  const startedAt = new Map<string, Array<number>>()
  const memory = MemorySource.make(tenDays)
  const source = Source.of({
    name: "flaky",
    extract: (request) =>
      Stream.unwrap(
        Effect.map(Clock.currentTimeMillis, (now) => {
          const day = request.partition.day
          const n = (calls.get(day) ?? 0) + 1
          calls.set(day, n)
          startedAt.set(day, [...(startedAt.get(day) ?? []), now])
          return n <= failures(day)
            ? Stream.fail(new SourceUnavailable({ source: "flaky", reason: `attempt ${n} refused` }))
            : memory.extract(request)
        })
      )
  })
  return { source, calls, startedAt }
}

const environment = (source: Source["Service"] = MemorySource.make(tenDays)) =>
  Layer.mergeAll(Layer.succeed(Source, source), MemorySink.layer(), MemoryLedger.layer())

const runsOf = (day: string) =>
  Effect.gen(function* () {
    const ledger = yield* Ledger
    return yield* ledger.runs("test", Partition.makeUnsafe(day))
  })

describe("Partitions", () => {
  it("are due from the start day to yesterday in the pipeline's time zone", () => {
    const now = Date.parse("2024-01-05T10:00:00Z")
    expect(Partitions.due(definition, now).map((p) => p.day)).toEqual([
      "2024-01-01",
      "2024-01-02",
      "2024-01-03",
      "2024-01-04"
    ])
    const saoPaulo = { ...definition, timeZone: Partition.TimeZone.make("America/Sao_Paulo") }
    // 01:00 UTC on the 5th is 22:00 on the 4th in Sao Paulo: the 3rd is the last complete day.
    expect(Partitions.due(saoPaulo, Date.parse("2024-01-05T01:00:00Z")).at(-1)?.day).toBe("2024-01-03")
    expect(Partitions.due(definition, Date.parse("2024-01-01T12:00:00Z"))).toEqual([])
  })

  it.effect("take their status from the ledger: missing, succeeded, empty, failed, running, abandoned", () =>
    Effect.gen(function* () {
      const partitions = Partitions.due(definition, Date.parse("2024-01-07T00:00:00Z"))
      yield* Pipeline.runRecorded(Partition.makeUnsafe("2024-01-01"), { name: "test" })
      yield* Pipeline.runRecorded(Partition.makeUnsafe("2024-01-02"), { name: "test" })
      yield* Pipeline.runRecorded(Partition.makeUnsafe("2024-01-03"), { name: "test" })
      // A run in progress, its process beating (the source takes an hour), and one whose process
      // died right after it started (no heartbeat ever).
      const inProgress = yield* Pipeline.runRecorded(Partition.makeUnsafe("2024-01-04"), { name: "test" }).pipe(
        Effect.forkChild
      )
      const ledger = yield* Ledger
      yield* ledger.start("test", Partition.makeUnsafe("2024-01-05"), "gone:1")
      const statuses = Effect.map(Partitions.states("test", partitions), (states) =>
        states.map((state) => [state.day, state.status])
      )
      yield* TestClock.adjust(1)
      // Both are fresh: running.
      expect(yield* statuses).toEqual([
        ["2024-01-01", "succeeded"],
        ["2024-01-02", "failed"],
        ["2024-01-03", "empty"],
        ["2024-01-04", "running"],
        ["2024-01-05", "running"],
        ["2024-01-06", "missing"]
      ])
      // Past the stale-after (30 s), only the one whose process beats is still running.
      yield* TestClock.adjust(Runner.defaultStaleAfter)
      const states = yield* Partitions.states("test", partitions)
      expect(states.map((state) => [state.day, state.status])).toEqual([
        ["2024-01-01", "succeeded"],
        ["2024-01-02", "failed"],
        ["2024-01-03", "empty"],
        ["2024-01-04", "running"],
        ["2024-01-05", "failed"],
        ["2024-01-06", "missing"]
      ])
      expect(states[1]!.lastError).toContain("SourceUnavailable")
      expect(states[0]!.rowsWritten).toBe(1152)
      expect(states[2]).toMatchObject({ rowsWritten: 0, rowsDeleted: 0, lastError: null })
      expect(states[4]!.lastError).toBe(
        "abandoned: gone:1 stopped without a result (no heartbeat since 1970-01-01T00:00:00.000Z)"
      )
      expect(Partitions.count(states)).toEqual({ missing: 1, running: 1, succeeded: 1, empty: 1, failed: 2 })
      // Backfills redo the failed and the abandoned day (and the missing one), not the empty one.
      const planned = yield* Backfill.plan(partitions, { name: "test" })
      expect(planned.map((partition) => partition.day)).toEqual(["2024-01-02", "2024-01-05", "2024-01-06"])
      const withEmpty = yield* Backfill.plan(partitions, { name: "test", only: ["missing", "failed", "empty"] })
      expect(withEmpty.map((partition) => partition.day)).toEqual([
        "2024-01-02",
        "2024-01-03",
        "2024-01-05",
        "2024-01-06"
      ])
      yield* Fiber.interrupt(inProgress)
    }).pipe(
      Effect.provide(
        environment(
          // 01 loads; 02 always fails; 03 has no samples; 04 takes an hour.
          Source.of({
            name: "mixed",
            extract: (request) =>
              request.partition.day === "2024-01-02"
                ? Stream.fail(new SourceUnavailable({ source: "mixed", reason: "refused" }))
                : request.partition.day === "2024-01-03"
                  ? Stream.empty
                  : request.partition.day === "2024-01-04"
                    ? Stream.fromEffectDrain(Effect.sleep("1 hour"))
                    : MemorySource.make(tenDays).extract(request)
          })
        )
      )
    )
  )

  it.effect("a run's heartbeat is written every heartbeatInterval while it runs, and stops when it ends", () =>
    Effect.gen(function* () {
      const day = Partition.makeUnsafe("2024-01-01")
      const run = yield* Pipeline.runRecorded(day, { name: "test" }).pipe(
        Effect.provideService(Runner.Runner, Runner.make({ id: "beater", heartbeatInterval: "5 seconds" })),
        Effect.forkChild
      )
      const heartbeat = Effect.map(runsOf("2024-01-01"), (runs) => Date.parse(runs[0]!.heartbeatAt))
      yield* TestClock.adjust(1)
      expect(yield* heartbeat).toBe(0)
      yield* TestClock.adjust(12_000)
      expect(yield* heartbeat).toBe(10_000)
      // The source answers after a minute: the run ends, the heartbeat with it.
      yield* TestClock.adjust(60_000)
      const report = yield* Fiber.join(run)
      expect(report.status).toBe("succeeded")
      const [finished] = yield* runsOf("2024-01-01")
      expect(finished).toMatchObject({ status: "succeeded", runner: "beater", heartbeatAt: finished!.finishedAt })
      yield* TestClock.adjust(60_000)
      expect(yield* heartbeat).toBe(Date.parse(finished!.finishedAt!))
    }).pipe(
      Effect.provide(
        environment(
          Source.of({
            name: "slow",
            extract: (request) =>
              Stream.fromEffectDrain(Effect.sleep("1 minute")).pipe(
                Stream.concat(MemorySource.make(tenDays).extract(request))
              )
          })
        )
      )
    )
  )

  it("a running run is live while its heartbeat is at most staleAfter old", () => {
    const base: Run = {
      id: 1,
      pipeline: "test",
      day: Partition.Day.make("2024-01-01"),
      timeZone: Partition.utc,
      status: "running",
      attempt: 1,
      samplesRead: null,
      rowsWritten: null,
      rowsDeleted: null,
      startedAt: "2024-01-01T00:00:00.000Z",
      finishedAt: null,
      heartbeatAt: "2024-01-01T00:10:00.000Z",
      error: null,
      runner: "host:1"
    }
    const beat = Date.parse(base.heartbeatAt)
    expect(LedgerModule.isLive(base, beat + 30_000, 30_000)).toBe(true)
    expect(LedgerModule.isLive(base, beat + 30_001, 30_000)).toBe(false)
    expect(LedgerModule.isAbandoned(base, beat + 30_001, 30_000)).toBe(true)
    expect(LedgerModule.isLive({ ...base, status: "succeeded" }, beat, 30_000)).toBe(false)
    expect(LedgerModule.isAbandoned({ ...base, status: "succeeded" }, beat + 60_000, 30_000)).toBe(false)
  })
})

describe("Pipeline.runRecorded", () => {
  const day = Partition.makeUnsafe("2024-01-01")
  /** A memory ledger whose `operation` fails its first `times` calls, counting them. */
  const failing = (operation: "start" | "finish", times: number) => {
    const memory = MemoryLedger.make()
    const calls = { count: 0 }
    const refuse = new LedgerError({ operation, reason: "connection terminated" })
    const ledger = Ledger.of({
      ...memory,
      start: (...args) =>
        Effect.suspend(() =>
          operation === "start" && ++calls.count <= times ? Effect.fail(refuse) : memory.start(...args)
        ),
      finish: (...args) =>
        Effect.suspend(() =>
          operation === "finish" && ++calls.count <= times ? Effect.fail(refuse) : memory.finish(...args)
        )
    })
    return { ledger, calls }
  }
  const withLedger = (ledger: Ledger["Service"]) =>
    Layer.mergeAll(Layer.succeed(Source, MemorySource.make(tenDays)), MemorySink.layer(), Layer.succeed(Ledger, ledger))
  /** Runs `effect` with the test clock moved on far enough for every retry's wait. */
  const settled = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(effect)
      yield* TestClock.adjust("1 minute")
      return yield* Fiber.join(fiber)
    })

  it.effect("retries a ledger write that fails, and goes on", () => {
    const { calls, ledger } = failing("finish", 2)
    return Effect.gen(function* () {
      const report = yield* settled(Pipeline.runRecorded(day, { name: "test" }))
      expect(report.status).toBe("succeeded")
      expect(report.ledgerError).toBeUndefined()
      expect(calls.count).toBe(3)
      expect((yield* runsOf("2024-01-01")).map((run) => run.status)).toEqual(["succeeded"])
    }).pipe(Effect.provide(withLedger(ledger)))
  })

  it.effect("a ledger that cannot record the end: the outcome stands, the report says so", () => {
    const { calls, ledger } = failing("finish", 99)
    return Effect.gen(function* () {
      const report = yield* settled(Pipeline.runRecorded(day, { name: "test" }))
      expect(report.status).toBe("succeeded")
      expect(report.rowsWritten).toBe(1152)
      expect(report.ledgerError).toEqual({
        tag: "LedgerError",
        message: "run ledger: finish failed: connection terminated"
      })
      expect(calls.count).toBe(5)
      expect((yield* (yield* MemorySink.MemorySink).rows).length).toBe(1152)
    }).pipe(Effect.provide(withLedger(ledger)))
  })

  it.effect("a ledger that cannot record the start: the partition fails without running", () => {
    const { ledger } = failing("start", 99)
    return Effect.gen(function* () {
      const report = yield* settled(Pipeline.runRecorded(day, { name: "test" }))
      expect(report).toMatchObject({
        status: "failed",
        rowsWritten: 0,
        error: { tag: "LedgerError", message: "run ledger: start failed: connection terminated" }
      })
      expect(yield* (yield* MemorySink.MemorySink).rows).toEqual([])
      expect(yield* runsOf("2024-01-01")).toEqual([])
    }).pipe(Effect.provide(withLedger(ledger)))
  })

  it.effect("a range goes on past partitions whose ledger writes fail", () => {
    const memory = MemoryLedger.make()
    // Every write about the 2nd fails: it is reported failed, the 1st and 3rd are done.
    const ledger = Ledger.of({
      ...memory,
      start: (pipeline, partition, runner) =>
        partition.day === "2024-01-02"
          ? Effect.fail(new LedgerError({ operation: "start", reason: "connection terminated" }))
          : memory.start(pipeline, partition, runner)
    })
    return Effect.gen(function* () {
      const partitions = yield* Effect.orDie(Partition.parseRange("2024-01-01", "2024-01-03"))
      const summary = yield* settled(Backfill.runAll(partitions, { name: "test", maxAttempts: 1 }))
      expect(summary).toMatchObject({ planned: 3, succeeded: 2, failed: 1 })
      expect(summary.reports.find((report) => report.day === "2024-01-02")?.error?.tag).toBe("LedgerError")
    }).pipe(Effect.provide(withLedger(ledger)))
  })
})

describe("Backfill", () => {
  const range = (from: string, to: string) => Effect.orDie(Partition.parseRange(from, to))

  it.live("runs only missing and failed partitions, with bounded concurrency", () =>
    Effect.gen(function* () {
      yield* Pipeline.runRecorded(Partition.makeUnsafe("2024-01-02"), { name: "test" })
      const summary = yield* Backfill.runAll(yield* range("2024-01-01", "2024-01-05"), { name: "test", concurrency: 2 })
      expect(summary).toMatchObject({ planned: 4, skipped: 1, succeeded: 4, failed: 0, retries: 0 })
      expect(summary.reports.map((report) => report.day).sort()).toEqual([
        "2024-01-01",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05"
      ])
      const again = yield* Backfill.runAll(yield* range("2024-01-01", "2024-01-05"), { name: "test" })
      expect(again.planned).toBe(0)
      expect(again.skipped).toBe(5)
    }).pipe(Effect.provide(environment()))
  )

  it.effect("retries a failed partition up to the attempts allowed, waiting the backoff, doubled each time", () => {
    const { calls, source, startedAt } = flaky((day) => (day === "2024-01-02" ? 2 : day === "2024-01-03" ? 99 : 0))
    return Effect.gen(function* () {
      // On the test clock: the backfill sleeps until the clock is moved, and each attempt records when it began.
      const backfill = yield* Backfill.runAll(yield* range("2024-01-01", "2024-01-03"), {
        name: "test",
        maxAttempts: 3,
        backoff: "1 second"
      }).pipe(Effect.forkChild)
      yield* TestClock.adjust("1 minute")
      const summary = yield* Fiber.join(backfill)
      expect(summary).toMatchObject({ planned: 3, succeeded: 2, failed: 1, retries: 4 })
      expect([calls.get("2024-01-01"), calls.get("2024-01-02"), calls.get("2024-01-03")]).toEqual([1, 3, 3])
      // One day at a time: the 2nd waits 1 s then 2 s before its retries; the 3rd starts when the 2nd is
      // done (at 3 s) and waits the same.
      expect(startedAt.get("2024-01-01")).toEqual([0])
      expect(startedAt.get("2024-01-02")).toEqual([0, 1_000, 3_000])
      expect(startedAt.get("2024-01-03")).toEqual([3_000, 4_000, 6_000])
      const runs = yield* runsOf("2024-01-03")
      expect(runs.map((run) => [run.attempt, run.status])).toEqual([
        [1, "failed"],
        [2, "failed"],
        [3, "failed"]
      ])
      // Run again, it picks up only the failed day.
      const again = yield* Backfill.runAll(yield* range("2024-01-01", "2024-01-03"), { name: "test", maxAttempts: 1 })
      expect(again.planned).toBe(1)
      expect((yield* runsOf("2024-01-03")).length).toBe(4)
    }).pipe(Effect.provide(environment(source)))
  })

  it.live("interrupted midway, run again: does only what is left", () =>
    Effect.gen(function* () {
      const partitions = yield* range("2024-01-01", "2024-01-08")
      // The first day is quick; every other day takes far longer than the test, so when the first is
      // done the next two are certainly in flight.
      const slow = Source.of({
        name: "slow",
        extract: (request) =>
          Stream.fromEffectDrain(Effect.sleep(request.partition.day === "2024-01-01" ? 0 : 60_000)).pipe(
            Stream.concat(MemorySource.make(tenDays).extract(request))
          )
      })
      const first = yield* Stream.runCollect(Backfill.run(partitions, { name: "test", concurrency: 2 })).pipe(
        Effect.provideService(Source, slow),
        Effect.forkChild
      )
      // Interrupt once the first day is done and the next two are in flight.
      const inFlight = (states: ReadonlyArray<Partitions.PartitionState>) => {
        const count = Partitions.count(states)
        return count.succeeded === 1 && count.running === 2
      }
      while (!inFlight(yield* Partitions.states("test", partitions))) yield* Effect.sleep(2)
      yield* Fiber.interrupt(first)
      const states = yield* Partitions.states("test", partitions)
      const done = states.filter((state) => state.status === "succeeded").length
      expect(done).toBe(1)
      // The two days in flight were rolled back and recorded as interrupted; the rest never started.
      expect(states.filter((state) => state.lastError === "interrupted").map((state) => state.day)).toEqual([
        "2024-01-02",
        "2024-01-03"
      ])
      expect(Partitions.count(states)).toEqual({ missing: 5, running: 0, succeeded: 1, empty: 0, failed: 2 })
      const rest = yield* Backfill.runAll(partitions, { name: "test" })
      expect(rest.planned).toBe(8 - done)
      expect(Partitions.count(yield* Partitions.states("test", partitions)).succeeded).toBe(8)
    }).pipe(Effect.provide(environment()))
  )
})

describe("Scheduler", () => {
  it.effect("ticks at once (catching up), then at each cron time, re-running the lookback days", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2024-01-05T00:00:00Z"))
      const events: Array<Scheduler.SchedulerEvent> = []
      const fiber = yield* Scheduler.run(definition, { cron: "15 0 * * *", lookback: 2 }).pipe(
        Stream.runForEach((event) => Effect.sync(() => events.push(event))),
        Effect.forkChild
      )
      const ranDays = () => events.flatMap((event) => (event._tag === "Attempted" ? [event.report.day as string] : []))
      yield* TestClock.adjust(1)
      // Catch-up: the 1st to the 4th.
      expect(ranDays()).toEqual(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"])
      expect(events.at(-1)).toEqual({ _tag: "Waiting", until: "2024-01-05T00:15:00.000Z" })
      // 00:15: nothing new is due, the last two days run again for late data.
      yield* TestClock.adjust(15 * 60_000)
      expect(ranDays().slice(4)).toEqual(["2024-01-03", "2024-01-04"])
      // The next day at 00:15: the 5th is due (and the 4th re-runs).
      yield* TestClock.adjust(24 * 3_600_000)
      expect(ranDays().slice(6)).toEqual(["2024-01-04", "2024-01-05"])
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(environment()))
  )

  it.effect("an invalid cron is a typed error", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Stream.runDrain(Scheduler.run(definition, { cron: "every day" })))
      expect(error._tag).toBe("InvalidCron")
      expect(error.message).toContain('invalid cron "every day"')
    }).pipe(Effect.provide(environment()))
  )
})

describe("Source.rateLimited", () => {
  it.effect("starts at most N extracts a second, evenly spaced", () =>
    Effect.gen(function* () {
      const started: Array<number> = []
      const memory = MemorySource.make(tenDays)
      const limited = SourceModule.rateLimited(
        Source.of({
          name: "timed",
          extract: (request) =>
            Stream.unwrap(
              Effect.map(Clock.currentTimeMillis, (now) => {
                started.push(now)
                return memory.extract(request)
              })
            )
        }),
        10
      )
      const partitions = yield* Effect.orDie(Partition.parseRange("2024-01-01", "2024-01-05"))
      const fiber = yield* Effect.forEach(
        partitions,
        (partition) =>
          Stream.runDrain(limited.extract({ partition, range: Partition.range(partition), variables: [] })),
        { concurrency: "unbounded" }
      ).pipe(Effect.forkChild)
      yield* TestClock.adjust(1_000)
      yield* Fiber.join(fiber)
      expect(started).toEqual([0, 100, 200, 300, 400])
    })
  )
})
