import { EmbeddedPostgres } from "@delfos/postgres"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { farm, seed } from "../test/Seed.ts"
import * as Ui from "../src/Ui.ts"

const program = Effect.gen(function* () {
  yield* seed(farm())
  const started = yield* Ui.start({ port: 8123, staleAfter: 86_400_000 })
  console.log(started.url)
  yield* Effect.never
}).pipe(Effect.scoped, Effect.provide(EmbeddedPostgres.layerClient()))
Effect.runPromise(program as Effect.Effect<never, unknown>).catch((e) => { console.error(e); process.exit(1) })
