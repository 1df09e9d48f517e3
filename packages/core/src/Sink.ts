/**
 * Load: a `Sink` replaces a partition's tidy rows atomically. Implementations: the in-memory
 * `MemorySink` here, Postgres in `@delfos/etl-sink-postgres`, or your own.
 *
 * Contract: after a successful `load`, the sink holds for `signals` of the partition's asset (or
 * of the default series) within `range` exactly `rows`: rows it had there and `rows` lacks are
 * removed, so a re-run never leaves a stale row. A failed load leaves the partition as it was. Rows
 * outside `signals`, of other assets, or outside `range` are not touched. A request that
 * `invalidRow` finds fault with fails with `SinkLoadFailed`, writing nothing. Two loads of one
 * partition at once end as one of them, never a mix. `loadBatch`, when a sink has it, is the same
 * for several partitions at once, all or none. `@delfos/etl-contract` checks all of this against
 * an implementation.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Partition, TimeRange } from "./Partition.ts"
import type { SignalName } from "./Signal.ts"
import type { TidyRows } from "./TidyRows.ts"
import * as Timestamp from "./Timestamp.ts"

export interface LoadRequest {
  readonly pipeline: string
  /** The day, and the asset whose signals the load owns (the default series' when absent). */
  readonly partition: Partition
  readonly range: TimeRange
  /** The signals this load owns in `range` (all that the transform can produce, not only those with rows). */
  readonly signals: ReadonlyArray<SignalName>
  readonly rows: TidyRows
}

export interface LoadResult {
  /** Rows inserted or updated. */
  readonly rowsWritten: number
  /** Rows of earlier runs that the new result no longer has. */
  readonly rowsDeleted: number
}

/** The sink could not be reached. */
export class SinkUnavailable extends Schema.TaggedError<SinkUnavailable>()("SinkUnavailable", {
  sink: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `sink unavailable at ${this.sink}: ${this.reason}`
  }
}

/** A load failed and was rolled back: the partition keeps its previous rows. */
export class SinkLoadFailed extends Schema.TaggedError<SinkLoadFailed>()("SinkLoadFailed", {
  sink: Schema.String,
  partition: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `loading ${this.partition} into ${this.sink} failed (previous rows kept): ${this.reason}`
  }
}

export type SinkError = SinkUnavailable | SinkLoadFailed

export class Sink extends Context.Service<
  Sink,
  {
    /** Where the rows go, for messages. */
    readonly name: string
    readonly load: (request: LoadRequest) => Effect.Effect<LoadResult, SinkError>
    /**
     * Optional: loads several partitions (a day's batch of assets) at once, all or none, and
     * returns their results in order. A pipeline uses it when it is there, and `load` each
     * partition otherwise; a sink gives it when one transaction for many is faster.
     */
    readonly loadBatch?:
      | ((requests: ReadonlyArray<LoadRequest>) => Effect.Effect<Array<LoadResult>, SinkError>)
      | undefined
  }
>()("@delfos/etl/Sink") {}

const formatInstant = (t: number) => (Number.isFinite(t) ? Timestamp.format(t) : String(t))

/**
 * Why `request` cannot be loaded as it is, or `undefined`: a value that is not finite (NaN and
 * ±Infinity never reach a sink's storage), a row outside the range or the load's signals (it
 * would escape the next run's clean-up), two rows for one signal and timestamp. A sink checks it
 * before it writes anything and fails with `SinkLoadFailed` giving the reason.
 */
export const invalidRow = (request: LoadRequest): string | undefined => {
  const { range, rows } = request
  const owned = new Set(request.signals)
  const seen = rows.signals.map(() => new Set<number>())
  for (let i = 0; i < rows.length; i++) {
    const index = rows.signalIndex[i]!
    const signal = rows.signals[index]
    const t = rows.timestamps[i]!
    const value = rows.values[i]!
    if (signal === undefined) return `row ${i}: signal index ${index} is not in the rows' signal list`
    // Named only when at fault: formatting every row's instant cost a fleet's load more than the checks.
    const row = () => `row ${i} (${signal} at ${formatInstant(t)})`
    if (!Number.isFinite(value)) return `${row()}: value ${value} is not finite`
    if (!(t >= range.start && t < range.end)) {
      return `${row()}: outside the partition [${formatInstant(range.start)}, ${formatInstant(range.end)})`
    }
    if (!owned.has(signal)) return `${row()}: ${signal} is not among the load's signals`
    if (seen[index]!.has(t)) return `${row()}: a second row for the same signal and timestamp`
    seen[index]!.add(t)
  }
  return undefined
}
