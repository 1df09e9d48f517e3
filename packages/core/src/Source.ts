/**
 * Extract: a `Source` streams the samples of one partition as frames. Implementations: the
 * in-memory `MemorySource` here, the fonte HTTP API in `@delfos/etl-source-http`, or your own.
 *
 * Contract: `extract` yields every sample the source has in `range`, with the asked variables
 * only, of each asked asset (frames tagged with it) or of its default series, in any order and
 * frames of any size, or fails with a `SourceError`. A source that cannot help reading more (a
 * whole file) may yield samples outside `range`: the pipeline ignores and counts them. The
 * pipeline reads the whole stream before it loads anything, so a failure midway loses nothing.
 * `@delfos/etl-contract` checks all of this against an implementation.
 */

import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { AssetId } from "./Asset.ts"
import type { Partition, TimeRange } from "./Partition.ts"
import type { SampleFrame } from "./SampleFrame.ts"
import type { Variable } from "./Signal.ts"

export interface ExtractRequest {
  /** The day asked for (its `asset`, if any, is also in `assets`). */
  readonly partition: Partition
  /** The day's instants, `[start, end)`. */
  readonly range: TimeRange
  readonly variables: ReadonlyArray<Variable>
  /**
   * The assets asked for, together: frames come tagged with their asset (`SampleFrame.asset`), one
   * of these; an asset the source has no samples of yields none. Absent: the source's default
   * series, frames without an asset.
   */
  readonly assets?: ReadonlyArray<AssetId> | undefined
}

/** The source could not be reached or did not answer in time (worth retrying). */
export class SourceUnavailable extends Schema.TaggedError<SourceUnavailable>()("SourceUnavailable", {
  source: Schema.String,
  reason: Schema.String,
  status: Schema.optional(Schema.Int)
}) {
  override get message(): string {
    return `source unavailable at ${this.source}: ${this.reason}`
  }
}

/** The source refused the request (an HTTP 4xx, say): retrying the same request will not help. */
export class SourceRejected extends Schema.TaggedError<SourceRejected>()("SourceRejected", {
  source: Schema.String,
  status: Schema.optional(Schema.Int),
  detail: Schema.String
}) {
  override get message(): string {
    return `source ${this.source} rejected the request${this.status === undefined ? "" : ` (${this.status})`}: ${this.detail}`
  }
}

/** The source answered with data that breaks the contract: which row and field, and why. */
export class SourceInvalidData extends Schema.TaggedError<SourceInvalidData>()("SourceInvalidData", {
  source: Schema.String,
  reason: Schema.String,
  row: Schema.optional(Schema.Int),
  field: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const where = [
      this.row === undefined ? "" : `row ${this.row}`,
      this.field === undefined ? "" : `field "${this.field}"`
    ]
      .filter((part) => part !== "")
      .join(", ")
    return `invalid data from ${this.source}${where === "" ? "" : ` (${where})`}: ${this.reason}`
  }
}

export type SourceError = SourceUnavailable | SourceRejected | SourceInvalidData

export class Source extends Context.Service<
  Source,
  {
    /** Where the data comes from, for messages: a URL, a file name. */
    readonly name: string
    readonly extract: (request: ExtractRequest) => Stream.Stream<SampleFrame, SourceError>
    /**
     * The assets (turbines) the source has, in its order, for a run over the whole fleet; absent
     * when the source knows only its default series.
     */
    readonly assets?: Effect.Effect<ReadonlyArray<AssetId>, SourceError> | undefined
  }
>()("@delfos/etl/Source") {}

/**
 * The same source, starting at most `perSecond` extracts a second (spaced evenly), so a backfill
 * does not flood the source's API. Concurrent extracts queue for their turn.
 */
export const rateLimited = (source: Source["Service"], perSecond: number): Source["Service"] => {
  const spacing = 1000 / perSecond
  let nextSlot = 0
  const turn = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const slot = Math.max(now, nextSlot)
    nextSlot = slot + spacing
    return slot > now ? Effect.sleep(slot - now) : Effect.void
  })
  return Source.of({
    name: source.name,
    extract: (request) => Stream.unwrap(Effect.as(turn, source.extract(request))),
    ...(source.assets === undefined ? {} : { assets: Effect.andThen(turn, source.assets) })
  })
}
