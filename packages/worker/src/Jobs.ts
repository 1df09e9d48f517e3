/**
 * The job queue's vocabulary: the task that runs one day (of the default series, or of a batch of
 * turbines), its payload (all that a worker on any machine needs to run it) and the job key that
 * names the partitions it covers, so that none is queued twice.
 */
import { Asset, Partition, Pipeline, Signal, Window } from "@delfos/etl"
import { HttpSource } from "@delfos/etl-source-http"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"

/** The graphile-worker task that runs one day: its default series, or a batch of its turbines. */
export const runPartitionTask = "delfos_run_partition"

const pipelinePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

/** A pipeline's name: letters, digits, `.`, `_`, `-` (at most 63), so that a job key splits back on `:`. */
export const PipelineName = Schema.String.check(
  Schema.makeFilter(
    (name: string) =>
      pipelinePattern.test(name) || `expected a pipeline name of letters, digits, . _ - (at most 63), got "${name}"`
  )
)

const isHttpUrl = (text: string) => {
  try {
    const url = new URL(text)
    return url.protocol === "http:" || url.protocol === "https:"
  } catch {
    return false
  }
}

/** The fonte API root a partition is read from, e.g. `http://fonte:8000/api/v1`. */
export const SourceUrl = Schema.String.check(
  Schema.makeFilter((text: string) => isHttpUrl(text) || `expected an http(s) URL, got "${text}"`)
)

/** A variable the fonte API serves: jobs read the fonte, so another name would fail every attempt. */
export const SourceVariable = Signal.Variable.check(
  Schema.makeFilter(
    (variable: Signal.Variable) =>
      Signal.knownVariables.includes(variable) ||
      `unknown variable "${variable}": expected ${Signal.knownVariables.join(", ")}`
  )
)

/**
 * The most turbines one job runs. Its key lists them, and a key is a unique index's entry, which
 * Postgres caps at about 2.7 kB: 50 ids of at most 32 characters stay under it with room to spare.
 */
export const maxAssets = 50

/** A batch's turbines: 1 to `maxAssets` ids, no repeats. */
export const Assets = Schema.NonEmptyArray(Asset.AssetId).check(
  Schema.makeFilter(
    (assets: ReadonlyArray<Asset.AssetId>) =>
      assets.length <= maxAssets || `expected at most ${maxAssets} turbines in one job, got ${assets.length}`
  ),
  Schema.makeFilter(
    (assets: ReadonlyArray<Asset.AssetId>) =>
      new Set(assets).size === assets.length || `expected each turbine once, got ${assets.join(",")}`
  )
)

/**
 * The payload of a `delfos_run_partition` job: one day of one pipeline, from one source, of the
 * default series or, with `assets`, of those turbines, run as one batch. A payload without
 * `assets` is the one-turbine job of earlier versions, unchanged.
 */
export const PartitionJob = Schema.Struct({
  pipeline: PipelineName,
  day: Partition.Day,
  timeZone: Partition.TimeZone,
  /** The turbines of the batch, in `Asset.compare` order; absent for the default series. */
  assets: Schema.optionalKey(Assets),
  variables: Schema.NonEmptyArray(SourceVariable),
  statistics: Schema.NonEmptyArray(Signal.Statistic),
  /** The window length in milliseconds. */
  every: Window.WindowLength,
  sourceUrl: SourceUrl,
  /** Load a day the source has no samples for (clearing its rows); absent: keep them (`empty`). */
  allowEmpty: Schema.optionalKey(Schema.Boolean),
  /** The quality policy: a partition whose coverage is below it is `degraded`, or with `strict` `failed`. */
  minCoverage: Schema.optionalKey(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
  strict: Schema.optionalKey(Schema.Boolean)
})
export type PartitionJob = typeof PartitionJob.Type

/** What a job runs besides its partition; each has the pipeline's default when absent. */
export interface JobOptions {
  /** `"default"` unless given, as in the CLI and the ledger. */
  readonly pipeline?: string | undefined
  /** `wind_speed` and `power` by default. */
  readonly variables?: ReadonlyArray<string> | undefined
  /** `mean`, `min`, `max`, `std` by default. */
  readonly statistics?: ReadonlyArray<string> | undefined
  /** The window length in milliseconds; ten minutes by default. */
  readonly every?: number | undefined
  /** The fonte API root; `http://localhost:8000/api/v1` (the reference's) by default. */
  readonly sourceUrl?: string | undefined
  /** Load a day the source has no samples for, clearing its rows; off by default (it ends `empty`). */
  readonly allowEmpty?: boolean | undefined
  /** The quality policy (`Pipeline.QualityPolicy`): flag, or with `strict` fail, a partition below it. */
  readonly minCoverage?: number | undefined
  readonly strict?: boolean | undefined
}

/** A job that cannot be queued or run as it is: which part is wrong, and why. */
export class InvalidJob extends Schema.TaggedError<InvalidJob>()("InvalidJob", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid job: ${this.reason}`
  }
}

// Schema's messages put the path on a line of their own; a command prints one line.
const oneLine = (message: string): string => message.replace(/\s*\n\s*/g, " ")

/** A `Schema` decoding failure as `InvalidJob`, naming the bad field. */
export const invalid = (error: Schema.SchemaError): InvalidJob => new InvalidJob({ reason: oneLine(error.message) })

const decodeJob = Schema.decodeUnknownEffect(PartitionJob)

/** Reads a payload (from the queue, or built here); fails with `InvalidJob` naming the bad field. */
export const decode = (payload: unknown): Effect.Effect<PartitionJob, InvalidJob> =>
  decodeJob(payload, { errors: "all" }).pipe(Effect.mapError(invalid))

/**
 * The job of a batch (`Pipeline.batches`: one partition of the default series, or turbines of one
 * day) with `options`; fails with `InvalidJob` on a bad name, variable, statistic or URL, a batch
 * of several days, or more than `maxAssets` turbines. Its turbines are put in `Asset.compare`
 * order, so a batch has one key whatever the order it came in.
 */
export const ofBatch = (
  batch: ReadonlyArray<Partition.Partition>,
  options: JobOptions = {}
): Effect.Effect<PartitionJob, InvalidJob> => {
  const [first] = batch
  if (first === undefined) return Effect.fail(new InvalidJob({ reason: "a job runs at least one partition" }))
  const assets = batch.flatMap((partition) => (partition.asset === undefined ? [] : [partition.asset]))
  if (batch.some((partition) => partition.day !== first.day || partition.timeZone !== first.timeZone)) {
    return Effect.fail(new InvalidJob({ reason: `a job runs one day; got ${batch.map(Partition.format).join(", ")}` }))
  }
  if (assets.length > 0 && assets.length < batch.length) {
    return Effect.fail(new InvalidJob({ reason: "a job runs the default series or turbines, not both" }))
  }
  if (assets.length === 0 && batch.length > 1) {
    return Effect.fail(new InvalidJob({ reason: `the default series of ${first.day} twice in one job` }))
  }
  return decode({
    pipeline: options.pipeline ?? Pipeline.defaultName,
    day: first.day,
    timeZone: first.timeZone,
    ...(assets.length === 0 ? {} : { assets: [...assets].sort(Asset.compare) }),
    variables: options.variables ?? Signal.defaultVariables,
    statistics: options.statistics ?? Signal.defaultStatistics,
    every: options.every ?? Window.defaultWindowLength,
    sourceUrl: options.sourceUrl ?? HttpSource.defaultBaseUrl,
    ...(options.allowEmpty === true ? { allowEmpty: true } : {}),
    ...(options.minCoverage === undefined ? {} : { minCoverage: options.minCoverage }),
    ...(options.strict === true ? { strict: true } : {})
  })
}

/** The job of one partition with `options` (`ofBatch` of it alone). */
export const make = (
  partition: Partition.Partition,
  options: JobOptions = {}
): Effect.Effect<PartitionJob, InvalidJob> => ofBatch([partition], options)

/**
 * `pipeline:timeZone:day` for the default series (`default:UTC:2024-01-01`), and
 * `pipeline:timeZone:day:A,B` for a batch of turbines (`wind:UTC:2024-01-01:WTG01,WTG02`): the
 * partitions a job covers, which no other waiting or running job covers.
 */
export const key = (job: Pick<PartitionJob, "pipeline" | "timeZone" | "day" | "assets">): string =>
  `${job.pipeline}:${job.timeZone}:${job.day}${job.assets === undefined ? "" : `:${job.assets.join(",")}`}`

/**
 * The pipeline, day and turbines (absent for the default series) a job key names, or `undefined`
 * for a key this package did not make.
 */
export const parseKey = (
  text: string
):
  | {
      readonly pipeline: string
      readonly partition: Partition.Partition
      readonly assets?: ReadonlyArray<Asset.AssetId> | undefined
    }
  | undefined => {
  const parts = text.split(":")
  if (parts.length !== 3 && parts.length !== 4) return undefined
  const [pipeline, timeZone, day, list] = parts as [string, string, string, string | undefined]
  const partition = Schema.decodeUnknownExit(Partition.Partition)({ day, timeZone })
  if (!pipelinePattern.test(pipeline) || !Exit.isSuccess(partition)) return undefined
  if (list === undefined) return { pipeline, partition: partition.value }
  const assets = Schema.decodeUnknownExit(Assets)(list.split(","))
  return Exit.isSuccess(assets) ? { pipeline, partition: partition.value, assets: assets.value } : undefined
}

/** The day a job runs, without its turbines. */
export const partitionOf = (job: PartitionJob): Partition.Partition => ({ day: job.day, timeZone: job.timeZone })

/** The partitions a job runs: its day's default series, or the day of each of its turbines. */
export const partitionsOf = (job: {
  readonly day: Partition.Day
  readonly timeZone: Partition.TimeZone
  readonly assets?: ReadonlyArray<Asset.AssetId> | undefined
}): Array<Partition.Partition> => Partition.forAssets([{ day: job.day, timeZone: job.timeZone }], job.assets)

/** The options `Pipeline.run` (and `Pipeline.runRecorded`) take for this job. */
export const pipelineOptions = (job: PartitionJob): Pipeline.PipelineOptions => ({
  name: job.pipeline,
  variables: job.variables,
  statistics: job.statistics,
  every: job.every,
  ...(job.allowEmpty === true ? { allowEmpty: true } : {}),
  ...(job.minCoverage === undefined ? {} : { quality: { minCoverage: job.minCoverage, strict: job.strict === true } })
})
