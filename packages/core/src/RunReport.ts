/**
 * What one run of one partition did: what was read, computed and written, how long it took, and
 * the error when it failed. The CLI prints it, a ledger stores it.
 */
import * as Schema from "effect/Schema"
import { AssetId } from "./Asset.ts"
import { Day, type Partition, TimeZone } from "./Partition.ts"
import { Finding } from "./Quality.ts"
import { IsoTimestamp } from "./Sample.ts"

/**
 * `succeeded`: loaded. `degraded`: loaded, but below the quality policy (`minCoverage`): see
 * `quality`. `empty`: the source had no sample in the partition, so nothing was loaded and its
 * earlier rows were kept (or, with `allowEmpty`, removed: see `rowsDeleted`). `failed`: see `error`
 * (a strict quality policy fails a partition without loading it).
 */
export const RunStatus = Schema.Literals(["succeeded", "degraded", "empty", "failed"])
export type RunStatus = typeof RunStatus.Type

export const RunError = Schema.Struct({
  /** The error's tag, e.g. `SourceUnavailable`. */
  tag: Schema.String,
  message: Schema.String
})
export type RunError = typeof RunError.Type

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** Where a run's time went: reading the source (the resampler consumes frames as they arrive), the rest of the transform, the load. */
export const RunTimings = Schema.Struct({
  extractMs: Schema.Finite,
  transformMs: Schema.Finite,
  loadMs: Schema.Finite
})
export type RunTimings = typeof RunTimings.Type

export const RunReport = Schema.Struct({
  pipeline: Schema.String,
  day: Day,
  timeZone: TimeZone,
  /** The partition's asset, when it has one. */
  asset: Schema.optionalKey(AssetId),
  status: RunStatus,
  /** Samples the source delivered, inside the partition or not. */
  samplesRead: Count,
  /** Samples outside the partition, ignored. */
  samplesIgnored: Count,
  /** Samples sharing a timestamp with an earlier one (aggregated, as pandas does). */
  duplicates: Count,
  /** Windows with at least one value. */
  windows: Count,
  rowsWritten: Count,
  /** Rows of an earlier run that the result no longer has. */
  rowsDeleted: Count,
  startedAt: IsoTimestamp,
  durationMs: Schema.Finite,
  timings: Schema.optionalKey(RunTimings),
  error: Schema.optionalKey(RunError),
  /** The data-quality checks' findings (`Quality`), when the pipeline ran them on the partition's samples. */
  quality: Schema.optionalKey(Schema.Array(Finding)),
  /**
   * The ledger could not record this run, even after retries (`Pipeline.runRecorded`). The outcome
   * above stands; the ledger shows the run `running` until its heartbeat is stale, then failed.
   */
  ledgerError: Schema.optionalKey(RunError)
})
export type RunReport = typeof RunReport.Type

/** The partition a report is about. */
export const partitionOf = (report: RunReport): Partition => ({
  day: report.day,
  timeZone: report.timeZone,
  ...(report.asset === undefined ? {} : { asset: report.asset })
})
