/**
 * Schedules: a long-running loop that on each cron tick runs the partitions that are due
 * (yesterday, plus the last `lookback` days again for late data, whatever their status, `empty`
 * included) and, first of all and after any downtime, every earlier partition that is missing or
 * failed. Stops when interrupted.
 */
import * as Clock from "effect/Clock"
import * as Cron from "effect/Cron"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Backfill from "./Backfill.ts"
import type { Ledger, LedgerError } from "./Ledger.ts"
import type * as Partition from "./Partition.ts"
import * as Partitions from "./Partitions.ts"
import type { Sink } from "./Sink.ts"
import type { Source } from "./Source.ts"
import * as Timestamp from "./Timestamp.ts"

export interface SchedulerOptions extends Backfill.BackfillOptions {
  /** When to run, in the pipeline's time zone; `15 0 * * *` (00:15 daily) by default. */
  readonly cron?: string | undefined
  /** The last days re-run on every tick whatever their status, for late data; 2 by default. */
  readonly lookback?: number | undefined
}

export const defaultCron = "15 0 * * *"

export class InvalidCron extends Schema.TaggedError<InvalidCron>()("InvalidCron", {
  cron: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid cron "${this.cron}": ${this.reason}`
  }
}

export type SchedulerEvent =
  /** A tick: `due` partitions from the start day to yesterday. */
  | { readonly _tag: "Tick"; readonly at: string; readonly due: number }
  | Backfill.BackfillEvent
  /** Waiting for the next tick. */
  | { readonly _tag: "Waiting"; readonly until: string }

/** Parses a cron expression in a time zone. */
export const parseCron = (cron: string, timeZone: Partition.TimeZone): Effect.Effect<Cron.Cron, InvalidCron> => {
  const parsed = Cron.parse(cron, timeZone)
  return Result.isSuccess(parsed)
    ? Effect.succeed(parsed.success)
    : Effect.fail(new InvalidCron({ cron, reason: parsed.failure.message }))
}

/** One tick at `now`: the missing and failed partitions up to yesterday, and the lookback days again. */
export const tick = (
  definition: Partitions.Definition,
  options: SchedulerOptions,
  now: number
): Stream.Stream<SchedulerEvent, LedgerError, Ledger | Source | Sink> => {
  const due = Partitions.due(definition, now)
  const lookback = Math.max(0, options.lookback ?? 2)
  return Stream.succeed<SchedulerEvent>({ _tag: "Tick", at: Timestamp.format(now), due: due.length }).pipe(
    Stream.concat(
      Backfill.run(due, {
        ...options,
        name: definition.name,
        only: options.only ?? Backfill.defaultOnly,
        // The last `lookback` days, of every asset of the fleet.
        force: lookback === 0 ? [] : [...new Set(due.map((partition) => partition.day))].slice(-lookback)
      })
    )
  )
}

/** Runs the schedule: a tick now (catching up), then one at each cron time, until interrupted. */
export const run = (
  definition: Partitions.Definition,
  options: SchedulerOptions = {}
): Stream.Stream<SchedulerEvent, LedgerError | InvalidCron, Ledger | Source | Sink> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const cron = yield* parseCron(options.cron ?? defaultCron, definition.timeZone)
      const waitAndTick: Stream.Stream<SchedulerEvent, LedgerError, Ledger | Source | Sink> = Stream.unwrap(
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const next = Cron.next(cron, now).getTime()
          return Stream.succeed<SchedulerEvent>({ _tag: "Waiting", until: Timestamp.format(next) }).pipe(
            Stream.concat(Stream.fromEffectDrain(Effect.sleep(next - now))),
            Stream.concat(Stream.unwrap(Effect.map(Clock.currentTimeMillis, (at) => tick(definition, options, at)))),
            Stream.concat(Stream.suspend(() => waitAndTick))
          )
        })
      )
      const now = yield* Clock.currentTimeMillis
      return tick(definition, options, now).pipe(Stream.concat(waitAndTick))
    })
  )
