/**
 * The pipeline: Extract (a `Source`'s stream of frames) → Transform (`Resample`, then `Unpivot`)
 * → Load (a `Sink`), for one partition or a range of them with bounded concurrency, and recorded
 * in a `Ledger` (`runRecorded`).
 *
 * A partition is read to the end before anything is loaded, and loaded in one atomic call, so a
 * failure anywhere leaves the sink as it was. A partition without a single sample is `empty` and
 * is not loaded at all, unless `allowEmpty` says to clear it.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { Ledger, type LedgerError } from "./Ledger.ts"
import * as Partition from "./Partition.ts"
import * as Resample from "./Resample.ts"
import { Runner } from "./Runner.ts"
import type { RunError, RunReport } from "./RunReport.ts"
import { defaultStatistics, defaultVariables, type Statistic, type Variable } from "./Signal.ts"
import { Sink, type SinkError } from "./Sink.ts"
import { Source, type SourceError } from "./Source.ts"
import * as Timestamp from "./Timestamp.ts"
import * as Unpivot from "./Unpivot.ts"
import * as Window from "./Window.ts"

export interface PipelineOptions {
  /** The pipeline's name, recorded with each load; `"default"` unless given. */
  readonly name?: string | undefined
  /** `wind_speed` and `power` by default. */
  readonly variables?: ReadonlyArray<Variable> | undefined
  /** `mean`, `min`, `max`, `std` by default. */
  readonly statistics?: ReadonlyArray<Statistic> | undefined
  /** Ten minutes by default. */
  readonly every?: Window.WindowLength | undefined
  /**
   * What to do when the source has no sample in the partition (a `200 []`): by default nothing is
   * loaded and the partition keeps its rows; `true` loads the empty result, removing them. Either
   * way the run is `empty`, with the rows removed in `rowsDeleted`.
   */
  readonly allowEmpty?: boolean | undefined
}

export type PipelineError = SourceError | SinkError

/** The name of a pipeline that was given none. */
export const defaultName = "default"

const settings = (options: PipelineOptions) => ({
  name: options.name ?? defaultName,
  variables: options.variables ?? defaultVariables,
  statistics: options.statistics ?? defaultStatistics,
  every: options.every ?? Window.defaultWindowLength
})

/**
 * Runs one partition; fails with the source's or the sink's error. Its report is `succeeded`, or
 * `empty` when the source had no sample in the partition (see `allowEmpty`).
 */
export const run = Effect.fn("Pipeline.run")(function* (partition: Partition.Partition, options: PipelineOptions = {}) {
  const { every, name, statistics, variables } = settings(options)
  const source = yield* Source
  const sink = yield* Sink
  const startedAt = yield* Clock.currentTimeMillis
  const t0 = yield* Clock.currentTimeNanos
  const range = Partition.range(partition)
  const resampler = Resample.make({ range, variables, statistics, every })
  yield* source
    .extract({ partition, range, variables })
    .pipe(Stream.runForEach((frame) => Effect.sync(() => resampler.add(frame))))
  const t1 = yield* Clock.currentTimeNanos
  const windows = resampler.result()
  const rows = Unpivot.unpivot(windows)
  const t2 = yield* Clock.currentTimeNanos
  // No sample at all is what a source answering `[]` looks like: keep what the partition has.
  const empty = windows.samples === 0
  const loaded =
    empty && options.allowEmpty !== true
      ? { rowsWritten: 0, rowsDeleted: 0 }
      : yield* sink.load({ pipeline: name, partition, range, signals: Unpivot.signalsOf(windows), rows })
  const t3 = yield* Clock.currentTimeNanos
  const finishedAt = yield* Clock.currentTimeMillis
  const millis = (from: bigint, to: bigint) => Number(to - from) / 1e6
  const report: RunReport = {
    pipeline: name,
    day: partition.day,
    timeZone: partition.timeZone,
    status: empty ? "empty" : "succeeded",
    samplesRead: windows.samples + windows.ignored,
    samplesIgnored: windows.ignored,
    duplicates: windows.duplicates,
    windows: windows.windowsWithData,
    rowsWritten: loaded.rowsWritten,
    rowsDeleted: loaded.rowsDeleted,
    startedAt: Timestamp.format(startedAt),
    durationMs: finishedAt - startedAt,
    timings: { extractMs: millis(t0, t1), transformMs: millis(t1, t2), loadMs: millis(t2, t3) }
  }
  return report
})

/**
 * Runs one partition and reports a failure instead of failing: the report's `status` is
 * `failed` and its `error` says why. Interruption still interrupts.
 */
export const runReporting = (
  partition: Partition.Partition,
  options: PipelineOptions = {}
): Effect.Effect<RunReport, never, Source | Sink> =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    return yield* run(partition, options).pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : Effect.map(Clock.currentTimeMillis, (finishedAt) =>
              failedReport(partition, settings(options).name, startedAt, finishedAt, errorOf(cause))
            )
      )
    )
  })

const errorOf = (cause: Cause.Cause<PipelineError>): RunError => {
  const error = Cause.findErrorOption(cause)
  return error._tag === "Some"
    ? { tag: error.value._tag, message: error.value.message }
    : { tag: "Defect", message: Cause.pretty(cause).split("\n")[0] ?? "unexpected failure" }
}

const failedReport = (
  partition: Partition.Partition,
  pipeline: string,
  startedAt: number,
  finishedAt: number,
  error: RunError
): RunReport => ({
  pipeline,
  day: partition.day,
  timeZone: partition.timeZone,
  status: "failed",
  samplesRead: 0,
  samplesIgnored: 0,
  duplicates: 0,
  windows: 0,
  rowsWritten: 0,
  rowsDeleted: 0,
  startedAt: Timestamp.format(startedAt),
  durationMs: finishedAt - startedAt,
  error
})

// A ledger write that fails is tried again: a dropped connection is usually replaced within a second.
const ledgerRetry = { schedule: Schedule.exponential("100 millis"), times: 4 }

const ledgerErrorOf = (error: LedgerError): RunError => ({ tag: error._tag, message: error.message })

/**
 * Runs one partition with `runReporting` and records it in the `Ledger`: `running` before (by the
 * `Runner` in context), a heartbeat every `heartbeatInterval` while it runs, then the report's
 * outcome; an interrupted run is recorded as failed. Never fails: a ledger that cannot record the
 * start (after retries) makes the partition `failed` without running it; one that cannot record
 * the end leaves the outcome as it is and says so in `ledgerError`. Returns the report.
 */
export const runRecorded = (
  partition: Partition.Partition,
  options: PipelineOptions = {}
): Effect.Effect<RunReport, never, Ledger | Source | Sink> =>
  Effect.gen(function* () {
    const ledger = yield* Ledger
    const runner = yield* Runner
    const name = settings(options).name
    const startedAt = yield* Clock.currentTimeMillis
    const started = yield* Effect.result(Effect.retry(ledger.start(name, partition, runner.id), ledgerRetry))
    if (Result.isFailure(started)) {
      const finishedAt = yield* Clock.currentTimeMillis
      return failedReport(partition, name, startedAt, finishedAt, ledgerErrorOf(started.failure))
    }
    const runId = started.success
    // A failed heartbeat is only a late one: the next may get through, and the run goes on regardless.
    const heartbeat = Effect.sleep(runner.heartbeatInterval).pipe(
      Effect.andThen(Effect.ignore(ledger.heartbeat(runId))),
      Effect.forever
    )
    const report = yield* Effect.scoped(
      Effect.gen(function* () {
        yield* Effect.forkScoped(heartbeat)
        return yield* runReporting(partition, options)
      })
    ).pipe(Effect.onInterrupt(() => Effect.ignore(Effect.retry(ledger.fail(runId, "interrupted"), { times: 2 }))))
    const finished = yield* Effect.result(Effect.retry(ledger.finish(runId, report), ledgerRetry))
    return Result.isFailure(finished) ? { ...report, ledgerError: ledgerErrorOf(finished.failure) } : report
  }).pipe(Effect.withSpan("Pipeline.runRecorded"))

export interface RangeOptions extends PipelineOptions {
  /** Partitions run at once; 1 by default. */
  readonly concurrency?: number | undefined
}

/**
 * Runs partitions with bounded concurrency, emitting each one's report (succeeded, empty or
 * failed) as it finishes; one failing partition does not stop the others. Not recorded: see
 * `Backfill.run` for that.
 */
export const runRange = (
  partitions: Iterable<Partition.Partition>,
  options: RangeOptions = {}
): Stream.Stream<RunReport, never, Source | Sink> =>
  Stream.fromIterable(partitions).pipe(
    Stream.mapEffect((partition) => runReporting(partition, options), {
      concurrency: options.concurrency ?? 1,
      unordered: true
    })
  )

/** Runs partitions like `runRange` and collects the reports in partition order. */
export const runAll = (
  partitions: Iterable<Partition.Partition>,
  options: RangeOptions = {}
): Effect.Effect<Array<RunReport>, never, Source | Sink> => {
  const list = [...partitions]
  const order = new Map(list.map((partition, index) => [Partition.format(partition), index]))
  return Stream.runCollect(runRange(list, options)).pipe(
    Effect.map((reports) =>
      [...reports].sort(
        (a, b) =>
          order.get(Partition.format({ day: a.day, timeZone: a.timeZone }))! -
          order.get(Partition.format({ day: b.day, timeZone: b.timeZone }))!
      )
    )
  )
}
