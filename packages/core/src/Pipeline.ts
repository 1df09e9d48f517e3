/**
 * The pipeline: Extract (a `Source`'s stream of frames) → Transform (`Resample`, then `Unpivot`)
 * → Load (a `Sink`), for one partition or a range of them with bounded concurrency.
 *
 * A partition is read to the end before anything is loaded, and loaded in one atomic call, so a
 * failure anywhere leaves the sink as it was.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Partition from "./Partition.ts"
import * as Resample from "./Resample.ts"
import type { RunReport } from "./RunReport.ts"
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

/** Runs one partition; fails with the source's or the sink's error. */
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
  const loaded = yield* sink.load({ pipeline: name, partition, range, signals: Unpivot.signalsOf(windows), rows })
  const t3 = yield* Clock.currentTimeNanos
  const finishedAt = yield* Clock.currentTimeMillis
  const millis = (from: bigint, to: bigint) => Number(to - from) / 1e6
  const report: RunReport = {
    pipeline: name,
    day: partition.day,
    timeZone: partition.timeZone,
    status: "succeeded",
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
              failedReport(partition, settings(options).name, startedAt, finishedAt, cause)
            )
      )
    )
  })

const failedReport = (
  partition: Partition.Partition,
  pipeline: string,
  startedAt: number,
  finishedAt: number,
  cause: Cause.Cause<PipelineError>
): RunReport => {
  const error = Cause.findErrorOption(cause)
  return {
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
    error:
      error._tag === "Some"
        ? { tag: error.value._tag, message: error.value.message }
        : { tag: "Defect", message: Cause.pretty(cause).split("\n")[0] ?? "unexpected failure" }
  }
}

export interface RangeOptions extends PipelineOptions {
  /** Partitions run at once; 1 by default. */
  readonly concurrency?: number | undefined
}

/**
 * Runs partitions with bounded concurrency, emitting each one's report (succeeded or failed) as
 * it finishes; one failing partition does not stop the others.
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
