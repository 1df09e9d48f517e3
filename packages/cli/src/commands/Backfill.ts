/**
 * `delfos-etl backfill`: the days of a range that need it (missing or failed by default), retried
 * with backoff, with progress and a summary; resumable. `--distributed` queues them for workers.
 */
import { Backfill, Partition, type Partitions } from "@delfos/etl"
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
import { extent, out, pipelineOptions, type RunFlags } from "./Run.ts"

export interface BackfillFlags extends RunFlags {
  readonly only?: string | undefined
  readonly maxAttempts?: string | undefined
  readonly maxRequestsPerSecond?: string | undefined
  readonly distributed?: boolean | undefined
}

export interface Retries {
  readonly only: ReadonlyArray<Partitions.PartitionStatus>
  readonly maxAttempts: number
  readonly maxRequestsPerSecond: number | undefined
}

/** `--only`, `--max-attempts`, `--max-requests-per-second`, shared with `schedule`. */
export const retries = (flags: BackfillFlags): Effect.Effect<Retries, Settings.UsageError> =>
  Effect.gen(function* () {
    return {
      only: yield* Settings.only(flags.only),
      maxAttempts: yield* Settings.integer("--max-attempts", flags.maxAttempts, defaults.maxAttempts, 1, 100),
      maxRequestsPerSecond: yield* Settings.rate("--max-requests-per-second", flags.maxRequestsPerSecond)
    }
  })

export const program = (
  settings: Settings.Settings,
  days: ReadonlyArray<Partition.Partition>,
  options: Retries
): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* Effect.sync(() => process.stderr.write(`${Layers.targetNote(settings)}\n`))
    const partitions = Turbines.partitions(days, yield* Turbines.resolve(settings.assets))
    let progress: Progress.Progress = Progress.none
    const started = Date.now()
    const events = yield* Backfill.run(partitions, {
      ...pipelineOptions(settings),
      concurrency: settings.concurrency,
      batchSize: settings.batchSize,
      only: options.only,
      maxAttempts: options.maxAttempts
    }).pipe(
      Stream.tap((event) =>
        Effect.sync(() => {
          if (event._tag === "Planned") {
            if (!settings.json) {
              process.stdout.write(
                `${event.partitions.length} of ${extent(partitions)} to run (${event.skipped} skipped: not ${options.only.join(" or ")})\n`
              )
            }
            progress = Progress.forRun(settings.json, event.partitions)
          } else if (event.final) {
            progress.report(event.report)
          } else if (!settings.json) {
            process.stderr.write(
              `${Partition.format(event.report)} attempt ${event.attempt} failed, retrying: ${event.report.error?.message}\n`
            )
          }
        })
      ),
      Stream.runCollect
    )
    progress.finish()
    const summary = Backfill.summarize(events)
    if (settings.json) {
      yield* out(`${JSON.stringify(summary, null, 2)}\n`)
    } else {
      yield* out(
        `backfill: ${summary.succeeded} succeeded${summary.degraded > 0 ? `, ${summary.degraded} degraded` : ""}` +
          `${summary.empty > 0 ? `, ${summary.empty} empty` : ""}, ${summary.failed} failed, ` +
          `${summary.skipped} skipped, ${summary.retries} retries` +
          `${summary.unrecorded > 0 ? `, ${summary.unrecorded} not recorded in the run ledger` : ""}` +
          ` · ${((Date.now() - started) / 1000).toFixed(2)}s\n`
      )
      const found = Progress.qualitySummary(summary.reports)
      if (found !== "") yield* out(`${found}\n`)
    }
    return Progress.anyFailed(summary.reports) ? ExitCode.failed : ExitCode.success
  }).pipe(
    Layers.provide(
      settings,
      Layer.merge(Layers.source(settings, options.maxRequestsPerSecond), Layers.target(settings))
    )
  )

export const run = (flags: BackfillFlags): Promise<number> =>
  execute(
    Effect.gen(function* () {
      const settings = yield* Settings.read(flags)
      const partitions = yield* Settings.partitions(flags, settings.timeZone)
      const options = yield* retries(flags)
      if (flags.distributed === true) {
        // The queue is the worker's: its library is loaded only for this.
        const Worker = yield* Effect.promise(() => import("./Worker.ts"))
        return yield* Worker.backfill(settings, partitions, { only: options.only, maxAttempts: options.maxAttempts })
      }
      return yield* program(settings, partitions, options)
    }),
    { verbose: flags.verbose === true }
  )
