/**
 * The worker's schedule, on the rule of `delfos-etl schedule` (the core's `Scheduler`): a cron in
 * the pipeline's time zone (`15 0 * * *` by default), and each tick queues what an in-process tick
 * would run: every missing or failed day from the start day to yesterday, and the last `lookback`
 * days (yesterday included) whatever their status. Workers that carry the same schedule claim each
 * tick in `etl_schedule`, so it is queued once; a tick missed while no worker ran is made up when
 * one starts, and older ones by state. A farm's schedule (`assets` in its options, or its
 * definition's) queues each day for its turbines, `batchSize` to a job.
 */
import { Partition, Partitions, Runner, Scheduler, type Source } from "@delfos/etl"
import * as Clock from "effect/Clock"
import * as Cron from "effect/Cron"
import * as Effect from "effect/Effect"
import * as EffectSchedule from "effect/Schedule"
import * as SqlClient from "effect/sql/SqlClient"
import * as Enqueue from "./Enqueue.ts"
import * as Jobs from "./Jobs.ts"
import * as Queue from "./Queue.ts"

export interface ScheduleOptions extends Omit<Jobs.JobOptions, "pipeline"> {
  /** When to tick, in the pipeline's time zone; `15 0 * * *` (00:15 daily) by default, as `Scheduler`. */
  readonly cron?: string | undefined
  /** The last days queued on every tick whatever their status, yesterday included, for late data; 2 by default. */
  readonly lookback?: number | undefined
  /** Which earlier days each tick queues, by status; `missing` and `failed` by default. */
  readonly only?: ReadonlyArray<Partitions.PartitionStatus> | undefined
  /** Attempts per job; 5 by default. */
  readonly maxAttempts?: number | undefined
  /**
   * The farm's turbines: ids, or `"all"`, those the source at `sourceUrl` lists, asked at every tick
   * (a turbine added to the farm joins at the next tick). Absent: the definition's `assets`, if any,
   * else the default series.
   */
  readonly assets?: ReadonlyArray<string> | "all" | undefined
  /** Turbines of one day per job; 25 by default (`Enqueue.EnqueueOptions`). */
  readonly batchSize?: number | undefined
}

/** The same default as the core's `Scheduler`. */
export const defaultLookback = 2

export type TickResult =
  /** Another worker had queued this tick (or a later one) already. */
  | { readonly _tag: "AlreadyQueued"; readonly at: Date }
  /** This worker queued the tick: the partitions due then, and what became of them. */
  | ({ readonly _tag: "Queued"; readonly at: Date; readonly due: number } & Enqueue.BackfillResult)

/**
 * The partitions a tick at `now` (epoch ms) queues and the days it forces: the pipeline's
 * partitions due then (start day to yesterday, each day for each of its `assets` if it has some),
 * and the last `lookback` days.
 */
export const plan = (
  definition: Partitions.Definition,
  now: number,
  lookback: number = defaultLookback
): { readonly due: Array<Partition.Partition>; readonly force: Array<Partition.Day> } => {
  const due = Partitions.due(definition, now)
  const days = Partition.days(definition.startDay, Partitions.lastCompleteDay(definition.timeZone, now))
  return { due, force: days.slice(Math.max(0, days.length - Math.max(0, lookback))) }
}

/**
 * Queues the tick at `at` (a cron time) unless a worker already queued it or a later one: the
 * claim in `etl_schedule` and the jobs are one transaction, so a tick that fails to queue is not
 * claimed. The partitions are planned as `Enqueue.backfill` plans them, at the `Clock`'s now.
 */
export const tick = (
  definition: Partitions.Definition,
  options: ScheduleOptions,
  at: Date
): Effect.Effect<
  TickResult,
  Jobs.InvalidJob | Source.SourceError | Queue.QueueUnavailable,
  SqlClient.SqlClient | Queue.Queue
> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const runner = yield* Runner.Runner
    // The farm's turbines, asked of the source before the transaction (no lock held over HTTP).
    const { assets: _, ...jobOptions } = options
    const listed = yield* Enqueue.assets(options)
    const farm = listed === undefined ? definition : { ...definition, assets: listed }
    return yield* Queue.transaction(
      Effect.gen(function* () {
        const claimed = yield* sql`INSERT INTO etl_schedule (pipeline, last_tick_at, ticked_by)
          VALUES (${definition.name}, ${at}, ${runner.id})
          ON CONFLICT (pipeline) DO UPDATE
            SET last_tick_at = EXCLUDED.last_tick_at, ticked_by = EXCLUDED.ticked_by, ticked_at = now()
            WHERE etl_schedule.last_tick_at < EXCLUDED.last_tick_at
          RETURNING pipeline`
        if (claimed.length === 0) return { _tag: "AlreadyQueued", at } as const
        const now = yield* Clock.currentTimeMillis
        const { due, force } = plan(farm, now, options.lookback)
        const result = yield* Enqueue.backfill(due, { ...jobOptions, pipeline: definition.name, force })
        return { _tag: "Queued", at, due: due.length, ...result } as const
      })
    )
  }).pipe(Effect.withSpan("Schedule.tick"))

// A tick that cannot be queued (the database away at 00:15, or the source asked for the farm's turbines) is tried again for about a minute,
// then left to the next tick, which queues by state whatever this one missed but its lookback.
const tickRetry = { schedule: EffectSchedule.exponential("1 second"), times: 6 }

/**
 * Runs the schedule until interrupted: at start, the latest cron time if no worker queued it (the
 * catch-up), then each cron time. Fails at once, before any I/O, on a bad cron (`InvalidCron`) or
 * job option (`InvalidJob`); a tick that cannot be queued is retried, then logged and skipped.
 */
export const run = (
  definition: Partitions.Definition,
  options: ScheduleOptions = {}
): Effect.Effect<never, Scheduler.InvalidCron | Jobs.InvalidJob, SqlClient.SqlClient | Queue.Queue> =>
  Effect.gen(function* () {
    const cron = yield* validate(definition, options)
    const tickAt = (at: Date) =>
      tick(definition, options, at).pipe(
        Effect.retry({
          ...tickRetry,
          while: (error) => error._tag === "QueueUnavailable" || error._tag === "SourceUnavailable"
        }),
        // A library stays quiet unless something is wrong: the CLI shows debug lines when asked.
        Effect.tap((result) => Effect.logDebug(describe(definition.name, result))),
        Effect.catch((error) =>
          Effect.logWarning(
            `schedule ${definition.name}: the tick at ${at.toISOString()} was not queued: ${error.message}`
          )
        )
      )
    // Strictly before now + 1 ms: the latest cron time at or before now.
    let last = Cron.prev(cron, (yield* Clock.currentTimeMillis) + 1)
    yield* tickAt(last)
    return yield* Effect.forever(
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const next = Cron.next(cron, Math.max(now, last.getTime()))
        yield* Effect.sleep(next.getTime() - now)
        last = next
        yield* tickAt(next)
      })
    )
  })

/** Checks a schedule's cron and the options its ticks will use, with no I/O; returns the cron. */
export const validate = (
  definition: Partitions.Definition,
  options: ScheduleOptions
): Effect.Effect<Cron.Cron, Scheduler.InvalidCron | Jobs.InvalidJob> =>
  Effect.gen(function* () {
    const cron = yield* Scheduler.parseCron(options.cron ?? Scheduler.defaultCron, definition.timeZone)
    const lookback = options.lookback ?? defaultLookback
    if (!Number.isInteger(lookback) || lookback < 0) {
      return yield* new Jobs.InvalidJob({ reason: `lookback must be a whole number ≥ 0, got ${lookback}` })
    }
    // A job of the start day for every turbine named checks the ids and the batch size too.
    yield* Effect.forEach(
      Partition.forAssets([{ day: definition.startDay, timeZone: definition.timeZone }], definition.assets),
      (partition) => Enqueue.validate(partition, { ...options, pipeline: definition.name }),
      { discard: true }
    )
    return cron
  })

const describe = (pipeline: string, result: TickResult): string =>
  result._tag === "AlreadyQueued"
    ? `schedule ${pipeline}: the tick at ${result.at.toISOString()} was queued by another worker`
    : `schedule ${pipeline}: tick at ${result.at.toISOString()}: ${result.due} days due, ${result.planned} to run ` +
      `(${result.added} queued, ${result.alreadyQueued} already queued, ${result.requeued} requeued)`
