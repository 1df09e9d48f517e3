/**
 * `delfos-etl run` (and `delfos-etl --date D`): extract, transform and load each day of a range,
 * recorded in the run ledger. A day's failure is in its report; the others go on.
 */
import { Partition, Pipeline, RunReport } from "@delfos/etl"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { execute } from "../Execute.ts"
import * as ExitCode from "../ExitCode.ts"
import { number } from "../Format.ts"
import * as Layers from "../Layers.ts"
import * as Progress from "../Progress.ts"
import * as Settings from "../Settings.ts"
import * as Turbines from "../Turbines.ts"

export interface RunFlags extends Settings.RawOptions {
  readonly date?: string | undefined
  readonly from?: string | undefined
  readonly to?: string | undefined
}

export const out = (text: string) => Effect.sync(() => process.stdout.write(text))
export const note = (text: string) => Effect.sync(() => process.stderr.write(text))

/** What `Pipeline.runBatchRecorded` needs from the settings. */
export const pipelineOptions = (settings: Settings.Settings): Pipeline.PipelineOptions => ({
  name: settings.pipeline,
  variables: settings.variables,
  statistics: settings.statistics,
  every: settings.every,
  allowEmpty: settings.allowEmpty,
  quality: settings.quality
})

/** `3 days` or `30 turbine-days (3 days × 10 turbines)`, of partitions. */
export const extent = (partitions: ReadonlyArray<Partition.Partition>): string => {
  const days = new Set(partitions.map((partition) => `${partition.timeZone}|${partition.day}`)).size
  const turbines = new Set(partitions.flatMap((partition) => (partition.asset === undefined ? [] : [partition.asset])))
  return Settings.ratio(days, turbines.size === 0 ? undefined : turbines.size)
}

/**
 * Runs the partitions in batches (a day's turbines together, `--batch-size` at most), with
 * progress and a summary: the outcomes, the rows, the quality findings.
 */
export const program = (
  settings: Settings.Settings,
  days: ReadonlyArray<Partition.Partition>
): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* note(`${Layers.targetNote(settings)}\n`)
    const partitions = Turbines.partitions(days, yield* Turbines.resolve(settings.assets))
    const progress = Progress.forRun(settings.json, partitions)
    const started = Date.now()
    const options = pipelineOptions(settings)
    // The reports are counted as they come; only --json keeps them all, to print them.
    const tally = Progress.tally()
    const kept: Array<RunReport.RunReport> = []
    yield* Stream.fromIterable(Pipeline.batches(partitions, settings.batchSize)).pipe(
      Stream.mapEffect(
        (batch) =>
          Pipeline.runBatchRecorded(batch, options).pipe(
            Effect.tap((reports) =>
              Effect.sync(() => {
                for (const report of reports) {
                  progress.report(report)
                  tally.add(report)
                  if (settings.json) kept.push(report)
                }
              })
            )
          ),
        { concurrency: settings.concurrency, unordered: true }
      ),
      Stream.runDrain
    )
    progress.finish()
    if (settings.json) {
      kept.sort((a, b) => Partition.compare(RunReport.partitionOf(a), RunReport.partitionOf(b)))
      yield* out(`${JSON.stringify(kept, null, 2)}\n`)
    } else {
      yield* out(
        `${extent(partitions)}: ${tally.counts()}` +
          ` · ${number(tally.rows())} rows · ${((Date.now() - started) / 1000).toFixed(2)}s\n`
      )
      const found = tally.quality()
      if (found !== "") yield* out(`${found}\n`)
    }
    return tally.failed() ? ExitCode.failed : ExitCode.success
  }).pipe(Layers.provide(settings, Layer.merge(Layers.source(settings), Layers.target(settings))))

export const run = (flags: RunFlags): Promise<number> =>
  execute(
    Effect.gen(function* () {
      const settings = yield* Settings.read(flags)
      const partitions = yield* Settings.partitions(flags, settings.timeZone)
      return yield* program(settings, partitions)
    }),
    { verbose: flags.verbose === true }
  )
