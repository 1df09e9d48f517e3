/**
 * `delfos-etl ui`: the web UI over the target, read-only, until SIGINT/SIGTERM: the fleet × day
 * grid of the ledger, a partition's runs and quality, the 10-minute series (and the fonte's raw
 * samples beside a window with `--source-url`). `@delfos/ui` is loaded only when this runs.
 */
import * as Effect from "effect/Effect"
import { execute } from "../Execute.ts"
import * as ExitCode from "../ExitCode.ts"
import * as Layers from "../Layers.ts"
import * as Settings from "../Settings.ts"
import { note, out } from "./Run.ts"

export interface UiFlags extends Settings.RawOptions {
  readonly port?: string | undefined
  readonly host?: string | undefined
}

export const run = (flags: UiFlags): Promise<number> =>
  execute(
    Effect.gen(function* () {
      // The fonte is optional here: only a URL given (flag or SOURCE_API_URL) enables raw samples.
      const given = flags.sourceUrl ?? (process.env.SOURCE_API_URL || undefined)
      const settings = yield* Settings.read({ ...flags, sourceUrl: given })
      const port = yield* Settings.integer("--port", flags.port, 0, 0, 65_535)
      yield* note(`${Layers.targetNote(settings)}\n`)
      const { Ui } = yield* Effect.promise(() => import("@delfos/ui"))
      yield* Ui.serve(
        {
          port,
          host: flags.host,
          pipeline: flags.pipeline,
          sourceUrl: given === undefined ? undefined : settings.sourceUrl,
          staleAfter: settings.runner.staleAfter,
          database: Layers.targetNote(settings)
            .replace(/^using /, "")
            .replace(/ \(give .*\)$/, "")
        },
        ({ url }) =>
          out(
            `delfos-etl ui: ${url}  (read-only${given === undefined ? "; no --source-url: no raw samples" : ""}; Ctrl-C stops it)\n`
          )
      ).pipe(Effect.provide(Layers.targetClient(settings)))
      return ExitCode.success
    }),
    { verbose: flags.verbose === true, interrupted: "success" }
  )
