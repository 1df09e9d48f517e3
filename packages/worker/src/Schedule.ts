/**
 * Scheduled runs on graphile-worker's crontab: each tick queues "yesterday plus lookback" as of the
 * tick, and `?fill=` makes up ticks missed while no worker ran.
 */
import { Partition, Partitions, Signal, Window } from "@delfos/etl"
import { HttpSource } from "@delfos/etl-source-http"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { parseCrontab, type Task } from "graphile-worker"
import * as Enqueue from "./Enqueue.ts"
import * as Jobs from "./Jobs.ts"

/** The graphile-worker task a crontab line runs: it queues the partitions of one tick. */
export const enqueueRecentTask = "delfos_enqueue_recent"

/** The payload of a `delfos_enqueue_recent` job; graphile-worker adds `_cron.ts`, the tick's instant. */
export const ScheduleJob = Schema.Struct({
  pipeline: Jobs.PipelineName,
  timeZone: Partition.TimeZone,
  variables: Schema.NonEmptyArray(Jobs.SourceVariable),
  statistics: Schema.NonEmptyArray(Signal.Statistic),
  every: Window.WindowLength,
  sourceUrl: Jobs.SourceUrl,
  /** Days before yesterday queued as well. */
  lookback: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  maxAttempts: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 32_767 })),
  _cron: Schema.optionalKey(Schema.Struct({ ts: Schema.String }))
})
export type ScheduleJob = typeof ScheduleJob.Type

export interface CrontabOptions extends Jobs.JobOptions {
  /** When, as a cron pattern in UTC (graphile-worker's clock): `0 2 * * *` is 02:00 UTC every day. */
  readonly cron: string
  /** Days before yesterday to queue too, for data that arrives late; 0 by default. */
  readonly lookback?: number | undefined
  /** The partitions' time zone, in which "yesterday" is reckoned at the tick; UTC by default. */
  readonly timeZone?: string | undefined
  /**
   * How far back ticks missed while no worker ran are made up when one starts: graphile-worker's
   * time phrase (`12h`, `3d`, `1w`). None by default. Only ticks after the line was first seen count.
   */
  readonly fill?: string | undefined
  /** Attempts per partition job; 10 by default. */
  readonly maxAttempts?: number | undefined
  /** The crontab item's identifier (one per schedule); `delfos_<pipeline>` by default. */
  readonly identifier?: string | undefined
}

const decodeSchedule = Schema.decodeUnknownExit(ScheduleJob)

const decode = (payload: unknown): ScheduleJob => {
  const exit = decodeSchedule(payload, { errors: "all" })
  if (Exit.isSuccess(exit)) return exit.value
  const error = Cause.findErrorOption(exit.cause)
  throw new Jobs.InvalidJob({ reason: Option.isSome(error) ? Jobs.oneLine(error.value.message) : "not a schedule job" })
}

/**
 * A crontab line (for `runWorker`'s `crontab`, or a crontab file) that queues yesterday and
 * `lookback` days before it at each tick. Every worker may carry the same line: graphile-worker
 * queues each tick once. Throws `InvalidJob` on a bad option or pattern.
 */
export const crontabFor = (options: CrontabOptions): string => {
  const payload = decode({
    pipeline: options.pipeline ?? "default",
    timeZone: options.timeZone ?? "UTC",
    variables: options.variables ?? Signal.defaultVariables,
    statistics: options.statistics ?? Signal.defaultStatistics,
    every: options.every ?? Window.defaultWindowLength,
    sourceUrl: options.sourceUrl ?? HttpSource.defaultBaseUrl,
    lookback: options.lookback ?? 0,
    maxAttempts: options.maxAttempts ?? Enqueue.defaultMaxAttempts
  })
  const identifier = options.identifier ?? `delfos_${payload.pipeline.replace(/[^-_a-zA-Z0-9]/g, "_")}`
  const query = new URLSearchParams({ id: identifier })
  if (options.fill !== undefined) query.set("fill", options.fill)
  const line = `${options.cron.trim()} ${enqueueRecentTask} ?${query} ${JSON.stringify(payload)}`
  try {
    parseCrontab(line)
  } catch (error) {
    throw new Jobs.InvalidJob({ reason: error instanceof Error ? error.message : String(error) })
  }
  return line
}

/** The partitions a tick at `tick` (epoch ms) queues: `lookback` days before yesterday, to yesterday. */
export const partitionsFor = (
  tick: number,
  lookback: number,
  timeZone: Partition.TimeZone = Partition.utc
): Array<Partition.Partition> => {
  const yesterday = Partitions.lastCompleteDay(timeZone, tick)
  return Partition.days(Partition.addDays(yesterday, -lookback), yesterday).map((day) => ({ day, timeZone }))
}

/** The `delfos_enqueue_recent` task: queues the tick's partitions (or, without a tick, now's). */
export const task: Task = async (payload, helpers) => {
  const job = decode(payload)
  const tick = job._cron === undefined ? Date.now() : Date.parse(job._cron.ts)
  const partitions = partitionsFor(tick, job.lookback, job.timeZone)
  const result = await Enqueue.addJobs(
    helpers.withPgClient,
    partitions.map((partition) => Jobs.make(partition, job)),
    { maxAttempts: job.maxAttempts }
  )
  helpers.logger.info(
    `${job.pipeline}: ${partitions[0]?.day} to ${partitions.at(-1)?.day}: ${result.added} added, ` +
      `${result.alreadyQueued} already queued, ${result.requeued} requeued`
  )
}
