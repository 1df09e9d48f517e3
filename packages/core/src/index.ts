/**
 * @delfos/etl: wind-farm sensor time series from minute samples to tidy 10-minute statistics.
 * Each module is a namespace: `Resample.resample(...)`, `Pipeline.run(...)`.
 */
export * as Backfill from "./Backfill.ts"
export * as Ledger from "./Ledger.ts"
export * as MemoryLedger from "./MemoryLedger.ts"
export * as MemorySink from "./MemorySink.ts"
export * as MemorySource from "./MemorySource.ts"
export * as Partition from "./Partition.ts"
export * as Partitions from "./Partitions.ts"
export * as Pipeline from "./Pipeline.ts"
export * as Resample from "./Resample.ts"
export * as RunReport from "./RunReport.ts"
export * as Sample from "./Sample.ts"
export * as SampleFrame from "./SampleFrame.ts"
export * as Scheduler from "./Scheduler.ts"
export * as Signal from "./Signal.ts"
export * as Sink from "./Sink.ts"
export * as Source from "./Source.ts"
export * as TidyRows from "./TidyRows.ts"
export * as Timestamp from "./Timestamp.ts"
export * as Unpivot from "./Unpivot.ts"
export * as Window from "./Window.ts"
