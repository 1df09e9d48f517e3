/**
 * The run ledger, as storage: one entry per attempt at a partition (`running`, then `succeeded`,
 * `empty` or `failed`, with what it read and wrote, and a heartbeat while it runs). Partition status,
 * backfills and schedules are derived from it; `Pipeline.runRecorded` writes it. The Postgres
 * implementation is `RunLedger` in `@delfos/etl-sink-postgres`; `MemoryLedger` is here.
 * `@delfos/etl-contract` checks an implementation against the contract written below.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Partition from "./Partition.ts"
import type { RunReport } from "./RunReport.ts"

export const Status = Schema.Literals(["running", "succeeded", "empty", "failed"])
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
  /** The last sign of life of the run's process (its start, then each heartbeat), ISO 8601, UTC. */
  readonly heartbeatAt: string
  readonly error: string | null
  /** Who ran it (the `Runner`'s id: `host:pid`, a worker pool), for people reading the ledger. */
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
    /**
     * Records a new run of `partition` by `runner` as `running`, numbered after the earlier ones of
     * the same pipeline and partition (distinct numbers for starts at once), its heartbeat now;
     * returns its id.
     */
    readonly start: (
      pipeline: string,
      partition: Partition.Partition,
      runner: string
    ) => Effect.Effect<number, LedgerError>
    /**
     * Records that a `running` run's process is alive now; a finished run is left as it is. Fails
     * with `LedgerError` for a run that does not exist, as `finish` and `fail` do.
     */
    readonly heartbeat: (runId: number) => Effect.Effect<void, LedgerError>
    /** Records how a run ended, from the pipeline's report (`succeeded`, `empty` or `failed`, counts, error). */
    readonly finish: (runId: number, report: RunReport) => Effect.Effect<void, LedgerError>
    /** Records a run as failed for a reason the pipeline did not report (interrupted, crashed). */
    readonly fail: (runId: number, error: string) => Effect.Effect<void, LedgerError>
    /** The latest run of each partition of `pipeline`, by day then time zone. */
    readonly history: (pipeline: string, options?: HistoryOptions) => Effect.Effect<ReadonlyArray<Run>, LedgerError>
    /** Every run of one partition, first attempt first. */
    readonly runs: (pipeline: string, partition: Partition.Partition) => Effect.Effect<ReadonlyArray<Run>, LedgerError>
  }
>()("@delfos/etl/Ledger") {}

/**
 * Whether a run is really in progress at `now` (epoch ms): it is `running` and its heartbeat is at
 * most `staleAfter` ms old. A `running` run whose process died stops beating; status and
 * backfills treat it as failed (abandoned).
 */
export const isLive = (run: Run, now: number, staleAfter: number): boolean =>
  run.status === "running" && now - Date.parse(run.heartbeatAt) <= staleAfter

/** Whether a run stays `running` in the ledger although its process stopped beating. */
export const isAbandoned = (run: Run, now: number, staleAfter: number): boolean =>
  run.status === "running" && !isLive(run, now, staleAfter)
