/**
 * The `Ledger` contract as checks: one entry per attempt at a partition, numbered from 1 per
 * pipeline and partition even when attempts start at once, then finished (succeeded, empty,
 * failed) or failed, with a heartbeat while running; `history` and `runs` read them back. Each
 * check uses pipelines of its own, so one ledger (one database) serves the whole suite.
 */
import {
  Ledger,
  MemorySink,
  MemorySource,
  Partition,
  Pipeline,
  Runner,
  type RunReport,
  Sink,
  Source,
  Timestamp
} from "@delfos/etl"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Contract from "./Contract.ts"

const first = Partition.makeUnsafe("2024-02-01")
const second = Partition.makeUnsafe("2024-02-02")
const third = Partition.makeUnsafe("2024-02-03")
const secondLocal = Partition.makeUnsafe("2024-02-02", "America/Sao_Paulo")

// A name no earlier run of the suite used, for ledgers that outlive it.
const pipelineName = (check: string) =>
  `contract-${check}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`

const report = (
  pipeline: string,
  partition: Partition.Partition,
  outcome: Pick<RunReport.RunReport, "status" | "samplesRead" | "rowsWritten" | "rowsDeleted"> & {
    readonly error?: RunReport.RunError
  }
): RunReport.RunReport => ({
  pipeline,
  day: partition.day,
  timeZone: partition.timeZone,
  samplesIgnored: 0,
  duplicates: 0,
  windows: 0,
  startedAt: Timestamp.format(Date.now()),
  durationMs: 1,
  ...outcome
})

const describe = (run: Ledger.Run) =>
  `{ attempt: ${run.attempt}, status: ${run.status}, samplesRead: ${run.samplesRead}, rowsWritten: ${run.rowsWritten}, rowsDeleted: ${run.rowsDeleted}, error: ${JSON.stringify(run.error)} }`

const isIsoUtc = (text: string | null) => text !== null && /Z$/.test(text) && !Number.isNaN(Date.parse(text))

const equalJson = (actual: unknown, expected: unknown, what: string) =>
  Contract.ensure(
    JSON.stringify(actual) === JSON.stringify(expected),
    () => `${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`
  )

/** The one run of `partition` with id `id`. */
const runOf = (ledger: Ledger.Ledger["Service"], pipeline: string, partition: Partition.Partition, id: number) =>
  Effect.flatMap(ledger.runs(pipeline, partition), (runs) => {
    const run = runs.find((each) => each.id === id)
    return run === undefined
      ? Contract.violation(`run ${id} is not among the runs of ${pipeline} ${Partition.format(partition)}`)
      : Effect.succeed(run)
  })

/** The contract's checks. */
export const checks = (): Array<Contract.Check<Ledger.Ledger>> => [
  {
    name: "start records a running attempt, numbered from 1 per pipeline and partition",
    effect: Effect.gen(function* () {
      const ledger = yield* Ledger.Ledger
      const pipeline = pipelineName("start")
      const ids = [
        yield* ledger.start(pipeline, first, "contract:1"),
        yield* ledger.start(pipeline, first, "contract:2"),
        yield* ledger.start(pipeline, first, "contract:3"),
        yield* ledger.start(pipeline, second, "contract:4"),
        yield* ledger.start(pipeline, secondLocal, "contract:5")
      ]
      yield* Contract.ensure(
        new Set(ids).size === ids.length,
        () => `start returned ids ${ids.join(", ")}, not distinct`
      )
      const runs = yield* ledger.runs(pipeline, first)
      yield* equalJson(
        runs.map((run) => [run.id, run.attempt, run.status, run.runner]),
        [
          [ids[0], 1, "running", "contract:1"],
          [ids[1], 2, "running", "contract:2"],
          [ids[2], 3, "running", "contract:3"]
        ],
        `the runs of ${Partition.format(first)} after three starts ([id, attempt, status, runner])`
      )
      for (const run of runs) {
        yield* equalJson(
          [
            run.pipeline,
            run.day,
            run.timeZone,
            run.samplesRead,
            run.rowsWritten,
            run.rowsDeleted,
            run.finishedAt,
            run.error
          ],
          [pipeline, first.day, first.timeZone, null, null, null, null, null],
          `run ${run.id} ([pipeline, day, timeZone, samplesRead, rowsWritten, rowsDeleted, finishedAt, error])`
        )
        yield* Contract.ensure(
          isIsoUtc(run.startedAt) && isIsoUtc(run.heartbeatAt),
          () => `run ${run.id}: startedAt ${run.startedAt} and heartbeatAt ${run.heartbeatAt} must be ISO 8601 in UTC`
        )
      }
      for (const partition of [second, secondLocal]) {
        const [run, ...more] = yield* ledger.runs(pipeline, partition)
        yield* Contract.ensure(
          run !== undefined && run.attempt === 1 && more.length === 0 && run.timeZone === partition.timeZone,
          () =>
            `${Partition.format(partition)} (another partition) must have one run, attempt 1; got ${run === undefined ? "none" : describe(run)} and ${more.length} more`
        )
      }
    })
  },
  {
    name: "concurrent starts of one partition get distinct attempts",
    effect: Effect.gen(function* () {
      const ledger = yield* Ledger.Ledger
      const pipeline = pipelineName("concurrent")
      const ids = yield* Effect.all(
        Array.from({ length: 8 }, (_, i) => ledger.start(pipeline, first, `contract:${i}`)),
        { concurrency: "unbounded" }
      )
      yield* Contract.ensure(new Set(ids).size === 8, () => `8 concurrent starts returned ids ${ids.join(", ")}`)
      const attempts = (yield* ledger.runs(pipeline, first)).map((run) => run.attempt).sort((a, b) => a - b)
      yield* equalJson(attempts, [1, 2, 3, 4, 5, 6, 7, 8], "the attempts after 8 concurrent starts")
    })
  },
  {
    name: "pipelines are separate: attempts, runs and history",
    effect: Effect.gen(function* () {
      const ledger = yield* Ledger.Ledger
      const a = pipelineName("a")
      const b = pipelineName("b")
      yield* ledger.start(a, first, "contract:1")
      yield* ledger.start(a, first, "contract:1")
      const only = yield* ledger.start(b, first, "contract:1")
      yield* equalJson(
        (yield* ledger.runs(b, first)).map((run) => [run.id, run.attempt]),
        [[only, 1]],
        `the runs of pipeline ${b} after two starts by another pipeline and one of its own`
      )
      yield* equalJson(
        (yield* ledger.history(a)).map((run) => [run.pipeline, run.attempt]),
        [[a, 2]],
        `the history of pipeline ${a}`
      )
    })
  },
  {
    name: "finish records succeeded, empty and failed with the report's counts and error",
    effect: Effect.gen(function* () {
      const ledger = yield* Ledger.Ledger
      const pipeline = pipelineName("finish")
      const outcomes = [
        report(pipeline, first, { status: "succeeded", samplesRead: 1440, rowsWritten: 1152, rowsDeleted: 3 }),
        report(pipeline, first, { status: "empty", samplesRead: 0, rowsWritten: 0, rowsDeleted: 0 }),
        report(pipeline, first, {
          status: "failed",
          samplesRead: 0,
          rowsWritten: 0,
          rowsDeleted: 0,
          error: { tag: "SourceUnavailable", message: "source unavailable at http://fonte: connection refused" }
        })
      ]
      for (const outcome of outcomes) {
        const id = yield* ledger.start(pipeline, first, "contract:1")
        yield* ledger.finish(id, outcome)
        const run = yield* runOf(ledger, pipeline, first, id)
        yield* equalJson(
          [run.status, run.samplesRead, run.rowsWritten, run.rowsDeleted],
          [outcome.status, outcome.samplesRead, outcome.rowsWritten, outcome.rowsDeleted],
          `the run finished ${outcome.status} ([status, samplesRead, rowsWritten, rowsDeleted])`
        )
        const error = outcome.error
        yield* Contract.ensure(
          error === undefined
            ? run.error === null
            : run.error?.includes(error.tag) === true && run.error.includes(error.message),
          () =>
            `the run finished ${outcome.status} has error ${JSON.stringify(run.error)}; expected ${error === undefined ? "null" : `one naming ${error.tag} and its message`}`
        )
        yield* Contract.ensure(
          isIsoUtc(run.finishedAt) && Date.parse(run.finishedAt!) >= Date.parse(run.startedAt),
          () => `the run finished ${outcome.status} has finishedAt ${run.finishedAt}, started ${run.startedAt}`
        )
      }
    })
  },
  {
    name: "fail records a failure the pipeline did not report (interrupted, crashed)",
    effect: Effect.gen(function* () {
      const ledger = yield* Ledger.Ledger
      const pipeline = pipelineName("fail")
      const id = yield* ledger.start(pipeline, first, "contract:1")
      yield* ledger.fail(id, "interrupted")
      const run = yield* runOf(ledger, pipeline, first, id)
      yield* equalJson([run.status, run.error], ["failed", "interrupted"], "the run after fail ([status, error])")
      yield* Contract.ensure(isIsoUtc(run.finishedAt), () => `a failed run has finishedAt ${run.finishedAt}`)
    })
  },
  {
    name: "heartbeat moves a running run's heartbeat forward, and leaves a finished run as it is",
    effect: Effect.gen(function* () {
      const ledger = yield* Ledger.Ledger
      const pipeline = pipelineName("heartbeat")
      const id = yield* ledger.start(pipeline, first, "contract:1")
      const started = yield* runOf(ledger, pipeline, first, id)
      yield* Effect.sleep("20 millis")
      yield* ledger.heartbeat(id)
      const beating = yield* runOf(ledger, pipeline, first, id)
      yield* Contract.ensure(
        Date.parse(beating.heartbeatAt) > Date.parse(started.heartbeatAt) && beating.status === "running",
        () => `after a heartbeat 20 ms later, heartbeatAt went from ${started.heartbeatAt} to ${beating.heartbeatAt}`
      )
      yield* ledger.finish(
        id,
        report(pipeline, first, { status: "succeeded", samplesRead: 1, rowsWritten: 1, rowsDeleted: 0 })
      )
      const finished = yield* runOf(ledger, pipeline, first, id)
      yield* Effect.sleep("20 millis")
      yield* ledger.heartbeat(id)
      const late = yield* runOf(ledger, pipeline, first, id)
      yield* equalJson(
        [late.status, late.heartbeatAt, late.finishedAt],
        [finished.status, finished.heartbeatAt, finished.finishedAt],
        "a finished run after a late heartbeat ([status, heartbeatAt, finishedAt])"
      )
    })
  },
  {
    name: "heartbeat, finish and fail of a run that does not exist fail with LedgerError",
    effect: Effect.gen(function* () {
      const ledger = yield* Ledger.Ledger
      const missing = 2_000_000_000
      const attempts = {
        heartbeat: ledger.heartbeat(missing),
        finish: ledger.finish(
          missing,
          report("contract", first, { status: "succeeded", samplesRead: 0, rowsWritten: 0, rowsDeleted: 0 })
        ),
        fail: ledger.fail(missing, "interrupted")
      }
      for (const [operation, effect] of Object.entries(attempts)) {
        const exit = yield* Effect.exit(effect)
        const failure = Exit.isFailure(exit) ? exit.cause.reasons.find((reason) => reason._tag === "Fail") : undefined
        yield* Contract.ensure(
          (failure?.error as { _tag?: unknown } | undefined)?._tag === "LedgerError",
          () =>
            `${operation} of run ${missing}, which does not exist, ${Exit.isSuccess(exit) ? "succeeded" : "did not fail with LedgerError"}`
        )
      }
    })
  },
  {
    name: "history gives the latest run of each partition, by day then time zone, from and to included",
    effect: Effect.gen(function* () {
      const ledger = yield* Ledger.Ledger
      const pipeline = pipelineName("history")
      const done = (status: "succeeded" | "empty") =>
        report(pipeline, first, { status, samplesRead: 1, rowsWritten: 1, rowsDeleted: 0 })
      // Started out of order: third, second in São Paulo, first twice, second.
      yield* ledger.start(pipeline, third, "contract:1")
      yield* ledger.start(pipeline, secondLocal, "contract:1")
      yield* ledger.finish(yield* ledger.start(pipeline, first, "contract:1"), done("succeeded"))
      const latest = yield* ledger.start(pipeline, first, "contract:1")
      yield* ledger.fail(latest, "crashed")
      yield* ledger.finish(yield* ledger.start(pipeline, second, "contract:1"), done("empty"))
      const entry = (run: Ledger.Run) => [run.day, run.timeZone, run.attempt, run.status]
      yield* equalJson(
        (yield* ledger.history(pipeline)).map(entry),
        [
          [first.day, "UTC", 2, "failed"],
          [second.day, "America/Sao_Paulo", 1, "running"],
          [second.day, "UTC", 1, "empty"],
          [third.day, "UTC", 1, "running"]
        ],
        "history ([day, timeZone, attempt, status])"
      )
      yield* equalJson(
        (yield* ledger.history(pipeline, { from: second.day, to: second.day })).map(entry),
        [
          [second.day, "America/Sao_Paulo", 1, "running"],
          [second.day, "UTC", 1, "empty"]
        ],
        `history from ${second.day} to ${second.day}`
      )
      yield* equalJson(
        (yield* ledger.history(pipeline, { from: second.day })).map((run) => run.day),
        [second.day, second.day, third.day],
        `history from ${second.day} (days)`
      )
      yield* equalJson(
        (yield* ledger.history(pipeline, { to: first.day })).map((run) => run.day),
        [first.day],
        `history to ${first.day} (days)`
      )
      yield* equalJson(yield* ledger.history(pipelineName("none")), [], "the history of a pipeline without runs")
    })
  },
  {
    name: "runs gives every attempt of a partition, first attempt first",
    effect: Effect.gen(function* () {
      const ledger = yield* Ledger.Ledger
      const pipeline = pipelineName("runs")
      const ids: Array<number> = []
      for (let i = 0; i < 4; i++) {
        ids.push(yield* ledger.start(pipeline, first, "contract:1"))
        // Ended out of order: a later attempt can end before an earlier one.
        if (i === 1) yield* ledger.fail(ids[1]!, "crashed")
      }
      yield* ledger.fail(ids[0]!, "crashed")
      yield* equalJson(
        (yield* ledger.runs(pipeline, first)).map((run) => [run.id, run.attempt]),
        ids.map((id, i) => [id, i + 1]),
        "runs ([id, attempt])"
      )
      yield* equalJson(yield* ledger.runs(pipeline, third), [], "the runs of a partition never run")
    })
  },
  {
    name: "records a run of Pipeline.runRecorded: running, then its outcome",
    effect: Effect.gen(function* () {
      const ledger = yield* Ledger.Ledger
      const pipeline = pipelineName("pipeline")
      const samples = [
        { timestamp: "2024-02-01T00:00:00Z", wind_speed: 10, power: 3000 },
        { timestamp: "2024-02-01T00:01:00Z", wind_speed: 11, power: 3100 }
      ]
      const outcome = yield* Pipeline.runRecorded(first, { name: pipeline }).pipe(
        Effect.provideService(Source.Source, MemorySource.make(samples)),
        Effect.provideService(Sink.Sink, MemorySink.make().sink),
        Effect.provideService(Runner.Runner, Runner.make({ id: "contract:pipeline" }))
      )
      const runs = yield* ledger.runs(pipeline, first)
      yield* equalJson(
        runs.map((run) => [run.attempt, run.status, run.samplesRead, run.rowsWritten, run.runner, run.error]),
        [[1, "succeeded", 2, outcome.rowsWritten, "contract:pipeline", null]],
        "the ledger after one recorded run ([attempt, status, samplesRead, rowsWritten, runner, error])"
      )
    })
  }
]

/** Declares the contract's tests for the `Ledger` of `layer` (built once for the block): call it at the top of a vitest file. */
export const run = <E>(name: string, layer: Layer.Layer<Ledger.Ledger, E>, options: Contract.RunOptions = {}): void =>
  Contract.declare(name, checks(), layer, options)

/** Runs the contract's checks on the `Ledger` of `layer` outside vitest, and reports each outcome. */
export const evaluate = <E>(
  layer: Layer.Layer<Ledger.Ledger, E>,
  options: Contract.RunOptions = {}
): Effect.Effect<Array<Contract.Outcome>, E> => Contract.evaluate(checks(), layer, options)
