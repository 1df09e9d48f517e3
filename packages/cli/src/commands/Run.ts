/**
 * `delfos-etl run` (and `delfos-etl --date D`): extract, transform and load each day of a range,
 * recorded in the run ledger. A day's failure is in its report; the others go on.
 */
import { type Partition, Pipeline } from "@delfos/etl"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { execute } from "../Execute.ts"
import * as ExitCode from "../ExitCode.ts"
import { number, plural } from "../Format.ts"
import * as Layers from "../Layers.ts"
import * as Progress from "../Progress.ts"
import * as Settings from "../Settings.ts"

export interface RunFlags extends Settings.RawOptions {
  readonly date?: string | undefined
  readonly from?: string | undefined
  readonly to?: string | undefined
}

export const out = (text: string) => Effect.sync(() => process.stdout.write(text))
export const note = (text: string) => Effect.sync(() => process.stderr.write(text))

/** What `Pipeline.runRecorded` needs from the settings. */
export const pipelineOptions = (settings: Settings.Settings): Pipeline.PipelineOptions => ({
  name: settings.pipeline,
  variables: settings.variables,
  statistics: settings.statistics,
  every: settings.every,
  allowEmpty: settings.allowEmpty
})

/** Runs each partition, with progress and a summary. */
export const program = (
  settings: Settings.Settings,
  partitions: ReadonlyArray<Partition.Partition>
): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* note(`${Layers.targetNote(settings)}\n`)
    const progress = Progress.forRun(settings.json, partitions.length)
    const started = Date.now()
    const options = pipelineOptions(settings)
    const reports = yield* Stream.fromIterable(partitions).pipe(
      Stream.mapEffect(
        (partition) =>
          Pipeline.runRecorded(partition, options).pipe(
            Effect.tap((report) => Effect.sync(() => progress.report(report)))
          ),
        { concurrency: settings.concurrency, unordered: true }
      ),
      Stream.runCollect
    )
    progress.finish()
    const order = new Map(partitions.map((partition, i) => [partition.day, i]))
    const sorted = [...reports].sort((a, b) => order.get(a.day)! - order.get(b.day)!)
    if (settings.json) {
      yield* out(`${JSON.stringify(sorted, null, 2)}\n`)
    } else {
      const rows = sorted.reduce((total, report) => total + report.rowsWritten, 0)
      yield* out(
        `${plural(sorted.length, "partition")}: ${Progress.counts(sorted)}` +
          ` · ${number(rows)} rows · ${((Date.now() - started) / 1000).toFixed(2)}s\n`
      )
    }
    return Progress.anyFailed(sorted) ? ExitCode.failed : ExitCode.success
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
