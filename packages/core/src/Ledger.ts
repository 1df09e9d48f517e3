/**
 * The run ledger: one entry per attempt at a partition (running, then succeeded or failed, with
 * what it read and wrote). Partition status, backfills and schedules are derived from it. The
 * Postgres implementation is `RunLedger` in `@delfos/etl-sink-postgres`; `MemoryLedger` is here.
 */
import { hostname } from "node:os"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Partition from "./Partition.ts"
import * as Pipeline from "./Pipeline.ts"
import type { RunReport } from "./RunReport.ts"
import type { Sink } from "./Sink.ts"
import type { Source } from "./Source.ts"

export const Status = Schema.Literals(["running", "succeeded", "failed"])
export type Status = typeof Status.Type

/** One attempt at one partition. Counts are `null` until the run finishes. */
export interface Run {
  readonly id: number
  readonly pipeline: string
  readonly day: Partition.Day
  readonly timeZone: Partition.TimeZone
  readonly status: Status
  /** 1 for a partition's first run, then one more for each later run of the same pipeline and partition. */
  readonly attempt: number
  readonly samplesRead: number | null
  readonly rowsWritten: number | null
  readonly rowsDeleted: number | null
  /** ISO 8601, UTC. */
  readonly startedAt: string
  readonly finishedAt: string | null
  readonly error: string | null
  /** Who ran it, `host:pid`: tells a run in progress from one whose process died. */
  readonly runner: string | null
}

/** Days to look at, both included; every day when absent. */
export interface HistoryOptions {
  readonly from?: Partition.Day | undefined
  readonly to?: Partition.Day | undefined
}

/** The ledger could not be read or written. */
export class LedgerError extends Schema.TaggedError<LedgerError>()("LedgerError", {
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `run ledger: ${this.operation} failed: ${this.reason}`
  }
}

export class Ledger extends Context.Service<
  Ledger,
  {
    /** Records a new run of `partition` as `running`, numbered after the earlier ones; returns its id. */
    readonly start: (pipeline: string, partition: Partition.Partition) => Effect.Effect<number, LedgerError>
    /** Records how a run ended, from the pipeline's report (`succeeded` or `failed`, counts, error). */
    readonly finish: (runId: number, report: RunReport) => Effect.Effect<void, LedgerError>
    /** Records a run as failed for a reason the pipeline did not report (interrupted, crashed). */
    readonly fail: (runId: number, error: string) => Effect.Effect<void, LedgerError>
    /** The latest run of each partition of `pipeline`, by day then time zone. */
    readonly history: (pipeline: string, options?: HistoryOptions) => Effect.Effect<ReadonlyArray<Run>, LedgerError>
    /** Every run of one partition, first attempt first. */
    readonly runs: (pipeline: string, partition: Partition.Partition) => Effect.Effect<ReadonlyArray<Run>, LedgerError>
  }
>()("@delfos/etl/Ledger") {}

/** This process, as ledgers record it. */
export const runner = `${hostname()}:${process.pid}`

/**
 * Runs one partition with `Pipeline.runReporting` and records it: `running` before, then the
 * report's outcome; an interrupted run is recorded as failed. Returns the report.
 */
export const record = (
  partition: Partition.Partition,
  options: Pipeline.PipelineOptions = {}
): Effect.Effect<RunReport, LedgerError, Ledger | Source | Sink> =>
  Effect.gen(function* () {
    const ledger = yield* Ledger
    const runId = yield* ledger.start(options.name ?? Pipeline.defaultName, partition)
    const report = yield* Pipeline.runReporting(partition, options).pipe(
      Effect.onInterrupt(() => Effect.ignore(ledger.fail(runId, "interrupted")))
    )
    yield* ledger.finish(runId, report)
    return report
  })

/**
 * Whether a `running` run is really in progress: its process is alive (when it ran on this host),
 * or it started less than `staleAfter` ms ago (elsewhere). A run whose process died stays
 * `running` in the ledger; status and backfills treat it as failed.
 */
export const isLive = (run: Run, now: number, staleAfter: number): boolean => {
  if (run.status !== "running") return false
  const [host, pid] = (run.runner ?? "").split(":")
  if (host === hostname() && pid !== undefined && pid !== "") {
    try {
      process.kill(Number(pid), 0)
      return true
    } catch (error) {
      // EPERM: alive but not ours to signal.
      return (error as NodeJS.ErrnoException).code === "EPERM"
    }
  }
  return now - Date.parse(run.startedAt) < staleAfter
}
