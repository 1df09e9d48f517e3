/**
 * Backfills: run the partitions of a range that need it (missing or failed, by default; `empty`
 * ones only when asked) with bounded concurrency, retrying a failed partition with exponential
 * backoff up to a number of attempts. A fleet's partitions run in batches of a day's assets; a
 * retry runs again only those of a batch that failed. Every attempt is recorded in the ledger
 * (`Pipeline.runBatchRecorded`), so an interrupted or killed backfill run again does only what is left.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Ledger, LedgerError } from "./Ledger.ts"
import type * as Partition from "./Partition.ts"
import * as Partitions from "./Partitions.ts"
import * as Pipeline from "./Pipeline.ts"
import { partitionOf, type RunReport } from "./RunReport.ts"
import type { Sink } from "./Sink.ts"
import type { Source } from "./Source.ts"

export interface BackfillOptions extends Pipeline.PipelineOptions {
  /** Which partitions to run, by status; `missing` and `failed` by default (add `empty` to ask again for days that had no data). */
  readonly only?: ReadonlyArray<Partitions.PartitionStatus> | undefined
  /** Days to run whatever their status (a schedule's lookback for late data). */
  readonly force?: ReadonlyArray<Partition.Day> | undefined
  /** Batches run at once; 1 by default. */
  readonly concurrency?: number | undefined
  /** Assets of one day run together (see `Pipeline.batches`); 25 by default. */
  readonly batchSize?: number | undefined
  /** Attempts per partition in this backfill, the first included; 3 by default. */
  readonly maxAttempts?: number | undefined
  /** The wait before the first retry, doubled for each next one; 1 second by default. */
  readonly backoff?: Duration.Input | undefined
}

/** The statuses a backfill runs unless told otherwise. */
export const defaultOnly: ReadonlyArray<Partitions.PartitionStatus> = ["missing", "failed"]

export type BackfillEvent =
  /** What this backfill will run, and how many partitions of the range it leaves alone. */
  | { readonly _tag: "Planned"; readonly partitions: ReadonlyArray<Partition.Partition>; readonly skipped: number }
  /** One attempt finished; `final` when no retry follows (it succeeded or was empty, or attempts ran out). */
  | { readonly _tag: "Attempted"; readonly report: RunReport; readonly attempt: number; readonly final: boolean }

/** The partitions a backfill would run. */
export const plan = (
  partitions: ReadonlyArray<Partition.Partition>,
  options: BackfillOptions = {}
): Effect.Effect<Array<Partition.Partition>, LedgerError, Ledger> =>
  Effect.map(Partitions.states(options.name ?? Pipeline.defaultName, partitions), (states) => {
    const only = options.only ?? defaultOnly
    const force = new Set(options.force ?? [])
    return states
      .filter((state) => only.includes(state.status) || force.has(state.day))
      .map(({ asset, day, timeZone }) => (asset === undefined ? { day, timeZone } : { day, timeZone, asset }))
  })

/** Runs a backfill, emitting its plan and then each attempt as it ends. */
export const run = (
  partitions: ReadonlyArray<Partition.Partition>,
  options: BackfillOptions = {}
): Stream.Stream<BackfillEvent, LedgerError, Ledger | Source | Sink> => {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3)
  const backoff = Duration.toMillis(Duration.fromInputUnsafe(options.backoff ?? "1 second"))
  // A batch's attempt, then another of only its partitions that failed, after the backoff.
  const attempts = (batch: ReadonlyArray<Partition.Partition>) =>
    Stream.paginate({ attempt: 1, partitions: batch }, ({ attempt, partitions }) =>
      Effect.gen(function* () {
        if (attempt > 1) yield* Effect.sleep(backoff * 2 ** (attempt - 2))
        const reports = yield* Pipeline.runBatchRecorded(partitions, options)
        const failed = reports.filter((report) => report.status === "failed").map(partitionOf)
        const retry = failed.length > 0 && attempt < maxAttempts
        const events = reports.map(
          (report): BackfillEvent => ({
            _tag: "Attempted",
            report,
            attempt,
            final: report.status !== "failed" || !retry
          })
        )
        return [events, retry ? Option.some({ attempt: attempt + 1, partitions: failed }) : Option.none()] as const
      })
    )
  return Stream.unwrap(
    Effect.map(plan(partitions, options), (selected) =>
      Stream.succeed<BackfillEvent>({
        _tag: "Planned",
        partitions: selected,
        skipped: partitions.length - selected.length
      }).pipe(
        Stream.concat(
          Stream.fromIterable(Pipeline.batches(selected, options.batchSize)).pipe(
            Stream.flatMap(attempts, { concurrency: options.concurrency ?? 1 })
          )
        )
      )
    )
  )
}

export interface Summary {
  readonly planned: number
  readonly skipped: number
  readonly succeeded: number
  /** Partitions loaded but flagged by the quality policy (`minCoverage`). */
  readonly degraded: number
  /** Partitions the source had no sample for (not loaded unless `allowEmpty`). */
  readonly empty: number
  readonly failed: number
  readonly retries: number
  /** Partitions whose outcome the ledger could not record (`RunReport.ledgerError`). */
  readonly unrecorded: number
  /** The final report of each partition run. */
  readonly reports: ReadonlyArray<RunReport>
}

/** Folds a backfill's events into its summary. */
export const summarize = (events: Iterable<BackfillEvent>): Summary => {
  let planned = 0
  let skipped = 0
  let retries = 0
  const reports: Array<RunReport> = []
  for (const event of events) {
    if (event._tag === "Planned") {
      planned = event.partitions.length
      skipped = event.skipped
    } else {
      if (event.attempt > 1) retries++
      if (event.final) reports.push(event.report)
    }
  }
  const counted = (status: RunReport["status"]) => reports.filter((report) => report.status === status).length
  return {
    planned,
    skipped,
    succeeded: counted("succeeded"),
    degraded: counted("degraded"),
    empty: counted("empty"),
    failed: counted("failed"),
    retries,
    unrecorded: reports.filter((report) => report.ledgerError !== undefined).length,
    reports
  }
}

/** Runs a backfill to the end and returns its summary. */
export const runAll = (
  partitions: ReadonlyArray<Partition.Partition>,
  options: BackfillOptions = {}
): Effect.Effect<Summary, LedgerError, Ledger | Source | Sink> =>
  Effect.map(Stream.runCollect(run(partitions, options)), summarize)
