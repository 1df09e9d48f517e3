/**
 * `delfos-etl schedule`: a long-running process that runs the days that are due at once and on each
 * cron tick (in `--timezone`), catching up after downtime, until SIGINT/SIGTERM.
 */
import { Partition, Scheduler } from "@delfos/etl"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { execute } from "../Execute.ts"
import * as ExitCode from "../ExitCode.ts"
import * as Layers from "../Layers.ts"
import { defaults } from "../Options.ts"
import * as Progress from "../Progress.ts"
import * as Settings from "../Settings.ts"
import * as Turbines from "../Turbines.ts"
import { type BackfillFlags, type Retries, retries } from "./Backfill.ts"
import { note, out, pipelineOptions } from "./Run.ts"

export interface ScheduleFlags extends BackfillFlags {
  readonly cron?: string | undefined
  readonly lookback?: string | undefined
}

export interface ScheduleOptions extends Retries {
  readonly cron: string
  readonly lookback: number
  readonly startDay: Partition.Day
}

export const program = (settings: Settings.Settings, options: ScheduleOptions): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* note(`${Layers.targetNote(settings)}\n`)
    const assets = yield* Turbines.resolve(settings.assets)
    const fleet = assets === undefined ? "" : ` over ${assets.length} turbine${assets.length === 1 ? "" : "s"}`
    yield* out(
      `schedule "${options.cron}" (${settings.timeZone}) for pipeline "${settings.pipeline}"${fleet} from ${options.startDay}, lookback ${options.lookback} days\n`
    )
    yield* Scheduler.run(
      { name: settings.pipeline, startDay: options.startDay, timeZone: settings.timeZone, assets },
      {
        ...pipelineOptions(settings),
        concurrency: settings.concurrency,
        batchSize: settings.batchSize,
        only: options.only,
        maxAttempts: options.maxAttempts,
        cron: options.cron,
        lookback: options.lookback
      }
    ).pipe(
      Stream.runForEach((event) => {
        if (event._tag === "Tick") return out(`tick at ${event.at}: ${event.due} partitions due\n`)
        if (event._tag === "Waiting") return out(`next tick at ${event.until}\n`)
        if (event._tag === "Planned") return out(`  ${event.partitions.length} to run, ${event.skipped} already done\n`)
        if (!event.final) {
          return note(`  ${Partition.format(event.report)} attempt ${event.attempt} failed, retrying\n`)
        }
        const line = `  ${Progress.reportLine(event.report)}\n`
        return Progress.isFailure(event.report) ? note(line) : out(line)
      })
    )
    return ExitCode.success
  }).pipe(
    Layers.provide(
      settings,
      Layer.merge(Layers.source(settings, options.maxRequestsPerSecond), Layers.target(settings))
    )
  )

/** `--cron` as the core reads it, in `timeZone`: a bad one is a usage error. */
export const cron = (text: string, timeZone: Partition.TimeZone) =>
  Scheduler.parseCron(text, timeZone).pipe(
    Effect.as(text),
    Effect.mapError((error) => new Settings.UsageError({ message: error.message }))
  )

export const run = (flags: ScheduleFlags): Promise<number> =>
  execute(
    Effect.gen(function* () {
      const settings = yield* Settings.read(flags)
      if (settings.startDay === undefined) {
        return yield* new Settings.UsageError({ message: "schedule needs --start-day: the pipeline's first day" })
      }
      return yield* program(settings, {
        ...(yield* retries(flags)),
        cron: yield* cron(flags.cron ?? defaults.cron, settings.timeZone),
        lookback: yield* Settings.integer("--lookback", flags.lookback, defaults.lookback, 0, 366),
        startDay: settings.startDay
      })
    }),
    { verbose: flags.verbose === true, interrupted: "success" }
  )
