/**
 * The run ledger, as storage: one entry per attempt at a partition (`running`, then `succeeded`,
 * `degraded`, `empty` or `failed`, with what it read and wrote, and a heartbeat while it runs), and
 * each partition's latest quality findings. Partition status,
 * backfills and schedules are derived from it; `Pipeline.runRecorded` writes it. The Postgres
 * implementation is `RunLedger` in `@delfos/etl-sink-postgres`; `MemoryLedger` is here.
 * `@delfos/etl-contract` checks an implementation against the contract written below.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { AssetId } from "./Asset.ts"
import type * as Partition from "./Partition.ts"
import type * as Quality from "./Quality.ts"
import type { RunReport } from "./RunReport.ts"

export const Status = Schema.Literals(["running", "succeeded", "degraded", "empty", "failed"])
export type Status = typeof Status.Type

/** One attempt at one partition. Counts are `null` until the run finishes. */
export interface Run {
  readonly id: number
  readonly pipeline: string
  readonly day: Partition.Day
  readonly timeZone: Partition.TimeZone
  /** The partition's asset; absent for the default series. */
  readonly asset?: AssetId | undefined
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

/** Days to look at, both included (every day when absent), and the assets (every one when absent). */
export interface HistoryOptions {
  readonly from?: Partition.Day | undefined
  readonly to?: Partition.Day | undefined
  readonly assets?: ReadonlyArray<AssetId> | undefined
}

/** The latest quality findings of a partition, and the run that produced them. */
export interface PartitionQuality {
  readonly day: Partition.Day
  readonly timeZone: Partition.TimeZone
  readonly asset?: AssetId | undefined
  readonly runId: number
  readonly findings: ReadonlyArray<Quality.Finding>
}

/** How one run ended, for `finish`. */
export interface Finished {
  readonly runId: number
  readonly report: RunReport
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
     * Records a new run of each of `partitions` by `runner` as `running`, each numbered after the
     * earlier runs of its partition, its heartbeat now; returns their ids in the same order. Many
     * at once: a fleet's day is one write, not one per turbine.
     */
    readonly start: (
      pipeline: string,
      partitions: ReadonlyArray<Partition.Partition>,
      runner: string
    ) => Effect.Effect<ReadonlyArray<number>, LedgerError>
    /** Records that the processes of these `running` runs are alive now. */
    readonly heartbeat: (runIds: ReadonlyArray<number>) => Effect.Effect<void, LedgerError>
    /**
     * Records how runs ended, from the pipeline's reports (`succeeded`, `degraded`, `empty` or
     * `failed`, counts, error); a report with `quality` replaces its partition's findings.
     */
    readonly finish: (runs: ReadonlyArray<Finished>) => Effect.Effect<void, LedgerError>
    /** Records runs as failed for a reason the pipeline did not report (interrupted, crashed). */
    readonly fail: (runIds: ReadonlyArray<number>, error: string) => Effect.Effect<void, LedgerError>
    /** The latest run of each partition of `pipeline`, by day, time zone, then asset. */
    readonly history: (pipeline: string, options?: HistoryOptions) => Effect.Effect<ReadonlyArray<Run>, LedgerError>
    /** The latest quality findings of each partition of `pipeline` that has some, by day, time zone, then asset. */
    readonly quality: (
      pipeline: string,
      options?: HistoryOptions
    ) => Effect.Effect<ReadonlyArray<PartitionQuality>, LedgerError>
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
