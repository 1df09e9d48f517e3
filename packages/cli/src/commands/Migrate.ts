/** `delfos-etl migrate`: bring the target's schema up to date, and say what was found. */
import { Migrations } from "@delfos/etl-sink-postgres"
import * as Effect from "effect/Effect"
import { execute } from "../Execute.ts"
import * as ExitCode from "../ExitCode.ts"
import * as Layers from "../Layers.ts"
import * as Settings from "../Settings.ts"
import { note, out } from "./Run.ts"

export const run = (flags: Settings.RawOptions): Promise<number> =>
  execute(
    Effect.gen(function* () {
      const settings = yield* Settings.read(flags)
      yield* note(`${Layers.targetNote(settings)}\n`)
      const { applied, notes } = yield* Migrations.run.pipe(Effect.provide(Layers.targetClient(settings)))
      if (settings.json) {
        yield* out(`${JSON.stringify({ applied, notes })}\n`)
        return ExitCode.success
      }
      for (const line of notes) yield* out(`${line}\n`)
      yield* out(
        applied.length === 0
          ? "schema up to date: no migration to apply\n"
          : `applied ${applied.length} migration${applied.length === 1 ? "" : "s"}: ${applied.map(([id, name]) => `${id} ${name}`).join(", ")}\n`
      )
      return ExitCode.success
    }),
    { verbose: flags.verbose === true }
  )
