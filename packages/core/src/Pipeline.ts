/**
 * The pipeline: Extract (a `Source`'s stream of frames) → Transform (`Resample`, then `Unpivot`)
 * → Load (a `Sink`), for one partition, a batch (one day of several assets, extracted and loaded
 * together), or a range of them with bounded concurrency, and recorded in a `Ledger`
 * (`runRecorded`, `runBatchRecorded`).
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
import * as Quality from "./Quality.ts"
import * as Resample from "./Resample.ts"
import { Runner } from "./Runner.ts"
import { partitionOf, type RunError, type RunReport, type RunTimings } from "./RunReport.ts"
import { defaultStatistics, defaultVariables, type Statistic, type Variable } from "./Signal.ts"
import { type LoadRequest, type LoadResult, Sink, type SinkError } from "./Sink.ts"
import { Source, type SourceError } from "./Source.ts"
import type * as TidyRows from "./TidyRows.ts"
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
  /** The source's sampling interval in milliseconds (for `coverage`); one minute by default. */
  readonly cadence?: number | undefined
  /**
   * Data quality: the checks run on each partition's samples (the defaults unless `checks`), their
   * findings in the report; `false` runs none. With `minCoverage`, a partition whose lowest
   * variable coverage is below it is `degraded` (loaded, flagged), or with `strict` `failed` (not
   * loaded, its previous rows kept).
   */
  readonly quality?: QualityPolicy | false | undefined
}

export interface QualityPolicy extends Quality.QualityOptions {
  /** The checks to run; `Quality.defaults(this)` unless given. */
  readonly checks?: ReadonlyArray<Quality.Check> | undefined
  /** The lowest coverage (0 to 1) a loaded partition may have without being flagged. */
  readonly minCoverage?: number | undefined
  /** Below `minCoverage`: fail the partition (not loaded) instead of flagging it. */
  readonly strict?: boolean | undefined
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

/** A batch the pipeline cannot run: partitions of different days, or a default series mixed with assets. */
const checkBatch = (partitions: ReadonlyArray<Partition.Partition>): void => {
  const [first, ...rest] = partitions
  if (first === undefined) throw new RangeError("Pipeline: a batch has at least one partition")
  const assets = new Set<string | undefined>([first.asset])
  for (const partition of rest) {
    if (partition.day !== first.day || partition.timeZone !== first.timeZone) {
      throw new RangeError(`Pipeline: a batch is one day; ${Partition.format(partition)} is not ${first.day}`)
    }
    if (partition.asset === undefined || first.asset === undefined) {
      throw new RangeError("Pipeline: a batch of several partitions is of several assets, not the default series")
    }
    if (assets.has(partition.asset)) throw new RangeError(`Pipeline: ${partition.asset} twice in one batch`)
    assets.add(partition.asset)
  }
}

/** One partition of a batch, extracted and transformed, before its load. */
interface Transformed {
  readonly partition: Partition.Partition
  readonly windows: Resample.Windows
  readonly rows: TidyRows.TidyRows
  /** Not a single sample of the partition came: nothing is loaded unless `allowEmpty`. */
  readonly empty: boolean
  /** The quality checks' findings; none for an empty partition or with quality off. */
  readonly quality: ReadonlyArray<Quality.Finding> | undefined
  /** What the quality policy makes of it: load as `succeeded` or `degraded`, or fail without loading. */
  readonly verdict:
    | { readonly _tag: "Load"; readonly status: "succeeded" | "degraded" }
    | { readonly _tag: "Refuse"; readonly error: RunError }
}

// The checks of a policy, made once per options object: a range's partitions share them.
const checksCache = new WeakMap<QualityPolicy, ReadonlyArray<Quality.Check>>()
const checksOf = (policy: QualityPolicy): ReadonlyArray<Quality.Check> => {
  let checks = checksCache.get(policy)
  if (checks === undefined) {
    checks = policy.checks ?? Quality.defaults(policy)
    checksCache.set(policy, checks)
  }
  return checks
}

const noPolicy: QualityPolicy = {}

/** The quality of a partition's samples and what the policy makes of it. */
const judge = (
  partition: Partition.Partition,
  fleet: Resample.Fleet,
  windows: Resample.Windows,
  range: Partition.TimeRange,
  cadence: number,
  policy: QualityPolicy | false
): Pick<Transformed, "quality" | "verdict"> => {
  if (policy === false || windows.samples === 0)
    return { quality: undefined, verdict: { _tag: "Load", status: "succeeded" } }
  const quality = Quality.run(checksOf(policy), {
    partition,
    range,
    cadence,
    samples: fleet.sortedSamples(partition.asset),
    duplicates: windows.duplicates,
    outside: windows.ignored
  })
  const coverage = Quality.lowestCoverage(quality)
  if (policy.minCoverage === undefined || coverage === undefined || coverage >= policy.minCoverage) {
    return { quality, verdict: { _tag: "Load", status: "succeeded" } }
  }
  const below = `coverage ${(coverage * 100).toFixed(1)}% below the minimum ${(policy.minCoverage * 100).toFixed(1)}%`
  return policy.strict === true
    ? {
        quality,
        verdict: {
          _tag: "Refuse",
          error: { tag: "QualityPolicy", message: `${below} (strict): not loaded, previous rows kept` }
        }
      }
    : { quality, verdict: { _tag: "Load", status: "degraded" } }
}

/**
 * Extract and Transform of a batch: one extract for the day's assets (or the default series),
 * every frame resampled as it arrives into its asset's windows, then each partition unpivoted.
 */
const transform = (partitions: ReadonlyArray<Partition.Partition>, options: PipelineOptions) =>
  Effect.gen(function* () {
    checkBatch(partitions)
    const { every, statistics, variables } = settings(options)
    const source = yield* Source
    const { day, timeZone } = partitions[0]!
    const range = Partition.range({ day, timeZone })
    const assets = partitions.flatMap((partition) => (partition.asset === undefined ? [] : [partition.asset]))
    const policy = options.quality === false ? false : (options.quality ?? noPolicy)
    const cadence = options.cadence ?? Resample.defaultCadence
    const fleet = Resample.makeFleet({ range, variables, statistics, every, cadence, keepSamples: policy !== false })
    const t0 = yield* Clock.currentTimeNanos
    yield* source
      .extract({ partition: { day, timeZone }, range, variables, ...(assets.length === 0 ? {} : { assets }) })
      .pipe(Stream.runForEach((frame) => Effect.sync(() => fleet.add(frame))))
    const t1 = yield* Clock.currentTimeNanos
    const transformed = partitions.map((partition): Transformed => {
      const windows = fleet.result(partition.asset)
      return {
        partition,
        windows,
        rows: Unpivot.unpivot(windows),
        empty: windows.samples === 0,
        ...judge(partition, fleet, windows, range, cadence, policy)
      }
    })
    const t2 = yield* Clock.currentTimeNanos
    return { transformed, range, extractMs: millis(t0, t1), transformMs: millis(t1, t2) }
  })

const millis = (from: bigint, to: bigint) => Number(to - from) / 1e6

const loadRequest = (name: string, range: Partition.TimeRange, item: Transformed): LoadRequest => ({
  pipeline: name,
  partition: item.partition,
  range,
  signals: Unpivot.signalsOf(item.windows),
  rows: item.rows
})

const noLoad: LoadResult = { rowsWritten: 0, rowsDeleted: 0 }

/**
 * Loads a batch's partitions: with the sink's `loadBatch` in one go when it has one, each with
 * `load` otherwise. A batch load refused for its data is loaded again partition by partition, so
 * one bad partition fails alone; an unreachable sink fails them all.
 */
const loadAll = (
  requests: ReadonlyArray<LoadRequest>
): Effect.Effect<Array<Result.Result<LoadResult, SinkError>>, never, Sink> =>
  Effect.gen(function* () {
    const sink = yield* Sink
    const each = Effect.forEach(requests, (request) => Effect.result(sink.load(request)))
    if (sink.loadBatch === undefined || requests.length < 2) return yield* each
    const batch = yield* Effect.result(sink.loadBatch(requests))
    if (Result.isSuccess(batch)) return batch.success.map((result) => Result.succeed(result))
    if (batch.failure._tag === "SinkUnavailable") return requests.map(() => Result.fail(batch.failure))
    return yield* each
  })

const report = (
  item: Transformed,
  name: string,
  startedAt: number,
  finishedAt: number,
  loaded: LoadResult,
  timings: RunTimings
): RunReport => ({
  pipeline: name,
  day: item.partition.day,
  timeZone: item.partition.timeZone,
  ...(item.partition.asset === undefined ? {} : { asset: item.partition.asset }),
  status: item.empty ? "empty" : item.verdict._tag === "Load" ? item.verdict.status : "failed",
  samplesRead: item.windows.samples + item.windows.ignored,
  samplesIgnored: item.windows.ignored,
  duplicates: item.windows.duplicates,
  windows: item.windows.windowsWithData,
  rowsWritten: loaded.rowsWritten,
  rowsDeleted: loaded.rowsDeleted,
  startedAt: Timestamp.format(startedAt),
  durationMs: finishedAt - startedAt,
  timings,
  ...(item.quality === undefined ? {} : { quality: item.quality }),
  ...(item.verdict._tag === "Refuse" ? { error: item.verdict.error } : {})
})

/**
 * Runs one partition; fails with the source's or the sink's error. Its report is `succeeded`, or
 * `empty` when the source had no sample in the partition (see `allowEmpty`).
 */
export const run = Effect.fn("Pipeline.run")(function* (partition: Partition.Partition, options: PipelineOptions = {}) {
  const { name } = settings(options)
  const sink = yield* Sink
  const startedAt = yield* Clock.currentTimeMillis
  const { extractMs, range, transformMs, transformed } = yield* transform([partition], options)
  const item = transformed[0]!
  const t2 = yield* Clock.currentTimeNanos
  // No sample at all is what a source answering `[]` looks like: keep what the partition has.
  const loaded = item.empty && options.allowEmpty !== true ? noLoad : yield* sink.load(loadRequest(name, range, item))
  const loadMs = millis(t2, yield* Clock.currentTimeNanos)
  return report(item, name, startedAt, yield* Clock.currentTimeMillis, loaded, { extractMs, transformMs, loadMs })
})

/**
 * Runs a batch: partitions of one day, either the default series alone or several assets of it,
 * extracted together and loaded together (see `loadAll`). Never fails: each partition's report
 * says how it went (`succeeded`, `empty`, or `failed` with its error). Interruption still
 * interrupts.
 */
export const runBatch = (
  partitions: ReadonlyArray<Partition.Partition>,
  options: PipelineOptions = {}
): Effect.Effect<Array<RunReport>, never, Source | Sink> =>
  Effect.gen(function* () {
    const { name } = settings(options)
    const startedAt = yield* Clock.currentTimeMillis
    const failAll = (error: RunError) =>
      Effect.map(Clock.currentTimeMillis, (finishedAt) =>
        partitions.map((partition) => failedReport(partition, name, startedAt, finishedAt, error))
      )
    return yield* Effect.gen(function* () {
      const { extractMs, range, transformMs, transformed } = yield* transform(partitions, options)
      const toLoad = transformed.filter(
        (item) => (!item.empty || options.allowEmpty === true) && item.verdict._tag === "Load"
      )
      const t2 = yield* Clock.currentTimeNanos
      const outcomes = yield* loadAll(toLoad.map((item) => loadRequest(name, range, item)))
      const loadMs = millis(t2, yield* Clock.currentTimeNanos)
      const finishedAt = yield* Clock.currentTimeMillis
      const byPartition = new Map(toLoad.map((item, i) => [item.partition, outcomes[i]!]))
      return transformed.map((item) => {
        const outcome = byPartition.get(item.partition) ?? Result.succeed(noLoad)
        return Result.isSuccess(outcome)
          ? report(item, name, startedAt, finishedAt, outcome.success, { extractMs, transformMs, loadMs })
          : failedReport(item.partition, name, startedAt, finishedAt, errorOf(Cause.fail(outcome.failure)))
      })
    }).pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : failAll(errorOf(cause))
      )
    )
  })

/**
 * Runs one partition and reports a failure instead of failing: the report's `status` is
 * `failed` and its `error` says why. Interruption still interrupts.
 */
export const runReporting = (
  partition: Partition.Partition,
  options: PipelineOptions = {}
): Effect.Effect<RunReport, never, Source | Sink> =>
  Effect.map(runBatch([partition], options), (reports) => reports[0]!)

const errorOf = (cause: Cause.Cause<unknown>): RunError => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "Some") {
    const value = error.value as { readonly _tag?: unknown; readonly message?: unknown }
    return {
      tag: typeof value._tag === "string" ? value._tag : "Error",
      message: typeof value.message === "string" ? value.message : String(value)
    }
  }
  return { tag: "Defect", message: Cause.pretty(cause).split("\n")[0] ?? "unexpected failure" }
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
  ...(partition.asset === undefined ? {} : { asset: partition.asset }),
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
 * Runs a batch with `runBatch` and records it in the `Ledger`: each partition `running` before
 * (by the `Runner` in context, in one ledger write), a heartbeat every `heartbeatInterval` while it
 * runs, then the reports' outcomes; an interrupted batch is recorded as failed. Never fails: a
 * ledger that cannot record the start (after retries) makes the partitions `failed` without
 * running them; one that cannot record the end leaves the outcomes as they are and says so in
 * `ledgerError`.
 */
export const runBatchRecorded = (
  partitions: ReadonlyArray<Partition.Partition>,
  options: PipelineOptions = {}
): Effect.Effect<Array<RunReport>, never, Ledger | Source | Sink> =>
  Effect.gen(function* () {
    const ledger = yield* Ledger
    const runner = yield* Runner
    const name = settings(options).name
    const startedAt = yield* Clock.currentTimeMillis
    const started = yield* Effect.result(Effect.retry(ledger.start(name, partitions, runner.id), ledgerRetry))
    if (Result.isFailure(started)) {
      const finishedAt = yield* Clock.currentTimeMillis
      const error = ledgerErrorOf(started.failure)
      return partitions.map((partition) => failedReport(partition, name, startedAt, finishedAt, error))
    }
    const runIds = started.success
    // A failed heartbeat is only a late one: the next may get through, and the run goes on regardless.
    const heartbeat = Effect.sleep(runner.heartbeatInterval).pipe(
      Effect.andThen(Effect.ignore(ledger.heartbeat(runIds))),
      Effect.forever
    )
    const reports = yield* Effect.scoped(
      Effect.gen(function* () {
        yield* Effect.forkScoped(heartbeat)
        return yield* runBatch(partitions, options)
      })
    ).pipe(Effect.onInterrupt(() => Effect.ignore(Effect.retry(ledger.fail(runIds, "interrupted"), { times: 2 }))))
    const finished = yield* Effect.result(
      Effect.retry(ledger.finish(reports.map((report, i) => ({ runId: runIds[i]!, report }))), ledgerRetry)
    )
    return Result.isFailure(finished)
      ? reports.map((report) => ({ ...report, ledgerError: ledgerErrorOf(finished.failure) }))
      : reports
  }).pipe(Effect.withSpan("Pipeline.runBatchRecorded"))

/** `runBatchRecorded` of one partition. */
export const runRecorded = (
  partition: Partition.Partition,
  options: PipelineOptions = {}
): Effect.Effect<RunReport, never, Ledger | Source | Sink> =>
  Effect.map(runBatchRecorded([partition], options), (reports) => reports[0]!)

export interface RangeOptions extends PipelineOptions {
  /** Batches run at once; 1 by default. */
  readonly concurrency?: number | undefined
  /**
   * Assets of one day extracted and loaded together; 25 by default. With `concurrency`, it bounds
   * what is in memory at once, whatever the fleet's size. Partitions of the default series run one by one.
   */
  readonly batchSize?: number | undefined
}

/** Assets of one day run together unless told otherwise. */
export const defaultBatchSize = 25

/**
 * Cuts partitions into the batches the pipeline runs: partitions of one day and time zone, up to
 * `batchSize` assets each, in the order the partitions come; a partition of the default series
 * is a batch of its own.
 */
export const batches = (
  partitions: Iterable<Partition.Partition>,
  batchSize: number = defaultBatchSize
): Array<Array<Partition.Partition>> => {
  const size = Math.max(1, Math.floor(batchSize))
  const out: Array<Array<Partition.Partition>> = []
  const open = new Map<string, Array<Partition.Partition>>()
  for (const partition of partitions) {
    if (partition.asset === undefined) {
      out.push([partition])
      continue
    }
    const day = `${partition.timeZone}|${partition.day}`
    let batch = open.get(day)
    if (batch === undefined || batch.length >= size || batch.some((other) => other.asset === partition.asset)) {
      batch = []
      open.set(day, batch)
      out.push(batch)
    }
    batch.push(partition)
  }
  return out
}

/**
 * Runs partitions in batches (see `batches`) with bounded concurrency, emitting each partition's
 * report (succeeded, empty or failed) as its batch finishes; one failing partition does not stop
 * the others. Not recorded: see `Backfill.run` for that.
 */
export const runRange = (
  partitions: Iterable<Partition.Partition>,
  options: RangeOptions = {}
): Stream.Stream<RunReport, never, Source | Sink> =>
  Stream.fromIterable(batches(partitions, options.batchSize)).pipe(
    Stream.mapEffect((batch) => runBatch(batch, options), {
      concurrency: options.concurrency ?? 1,
      unordered: true
    }),
    Stream.flatMap(Stream.fromIterable)
  )

/** Runs partitions like `runRange` and collects the reports in partition order. */
export const runAll = (
  partitions: Iterable<Partition.Partition>,
  options: RangeOptions = {}
): Effect.Effect<Array<RunReport>, never, Source | Sink> => {
  const list = [...partitions]
  const order = new Map(list.map((partition, index) => [Partition.key(partition), index]))
  const position = (report: RunReport) => order.get(Partition.key(partitionOf(report)))!
  return Stream.runCollect(runRange(list, options)).pipe(
    Effect.map((reports) => [...reports].sort((a, b) => position(a) - position(b)))
  )
}
