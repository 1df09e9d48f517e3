/**
 * The job queue's vocabulary: the task that runs one partition, its payload (all that a worker on
 * any machine needs to run it) and the job key that keeps a partition from being queued twice.
 */
import { Partition, Pipeline, Signal, Window } from "@delfos/etl"
import { HttpSource } from "@delfos/etl-source-http"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"

/** The graphile-worker task that runs one partition. */
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

/** The payload of a `delfos_run_partition` job: one partition of one pipeline, from one source. */
export const PartitionJob = Schema.Struct({
  pipeline: PipelineName,
  day: Partition.Day,
  timeZone: Partition.TimeZone,
  variables: Schema.NonEmptyArray(SourceVariable),
  statistics: Schema.NonEmptyArray(Signal.Statistic),
  /** The window length in milliseconds. */
  every: Window.WindowLength,
  sourceUrl: SourceUrl
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

/** The job of one partition with `options`; fails with `InvalidJob` on a bad name, variable, statistic or URL. */
export const make = (
  partition: Partition.Partition,
  options: JobOptions = {}
): Effect.Effect<PartitionJob, InvalidJob> =>
  decode({
    pipeline: options.pipeline ?? Pipeline.defaultName,
    day: partition.day,
    timeZone: partition.timeZone,
    variables: options.variables ?? Signal.defaultVariables,
    statistics: options.statistics ?? Signal.defaultStatistics,
    every: options.every ?? Window.defaultWindowLength,
    sourceUrl: options.sourceUrl ?? HttpSource.defaultBaseUrl
  })

/** `pipeline:timeZone:day`, e.g. `default:UTC:2024-01-01`: at most one job per key is queued. */
export const key = (job: Pick<PartitionJob, "pipeline" | "timeZone" | "day">): string =>
  `${job.pipeline}:${job.timeZone}:${job.day}`

/** The pipeline and partition a job key names, or `undefined` for a key this package did not make. */
export const parseKey = (
  text: string
): { readonly pipeline: string; readonly partition: Partition.Partition } | undefined => {
  const parts = text.split(":")
  if (parts.length !== 3) return undefined
  const [pipeline, timeZone, day] = parts as [string, string, string]
  const partition = Schema.decodeUnknownExit(Partition.Partition)({ day, timeZone })
  return pipelinePattern.test(pipeline) && Exit.isSuccess(partition)
    ? { pipeline, partition: partition.value }
    : undefined
}

export const partitionOf = (job: PartitionJob): Partition.Partition => ({ day: job.day, timeZone: job.timeZone })

/** The options `Pipeline.run` (and `Pipeline.runRecorded`) take for this job. */
export const pipelineOptions = (job: PartitionJob): Pipeline.PipelineOptions => ({
  name: job.pipeline,
  variables: job.variables,
  statistics: job.statistics,
  every: job.every
})
