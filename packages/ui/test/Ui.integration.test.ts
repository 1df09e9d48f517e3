/**
 * `Ui.serve` as the CLI and `demo --ui` use it: over the `SqlClient` they already have, the URL
 * handed over once it listens, serving until interrupted, closed after; a fresh target (no ledger
 * yet) answers an empty fleet, not an error.
 */
import { EmbeddedPostgres } from "@delfos/postgres"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { describe, expect, it } from "vitest"
import type * as Api from "../src/Api.ts"
import * as Ui from "../src/Ui.ts"

describe("Ui.serve", () => {
  it("hands over its URL, serves an empty target, stops when interrupted", async () => {
    const program = Effect.gen(function* () {
      let listening: ((url: string) => void) | undefined
      const url = new Promise<string>((resolve) => {
        listening = resolve
      })
      const fiber = yield* Effect.forkChild(Ui.serve({ port: 0 }, ({ url }) => Effect.sync(() => listening!(url))))
      const address = yield* Effect.promise(() => url)
      expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
      const info = yield* Effect.promise(() => fetch(`${address}api/info`).then((r) => r.json() as Promise<Api.Info>))
      expect(info).toMatchObject({ pipelines: [], turbines: [], firstDay: null, rawSamples: false })
      const grid = yield* Effect.promise(() =>
        fetch(`${address}api/partitions?from=2024-01-01&to=2024-01-03`).then((r) => r.json() as Promise<Api.Grid>)
      )
      expect(grid.cells).toEqual([])
      const raw = yield* Effect.promise(() => fetch(`${address}api/raw?from=2024-01-01T00:00:00Z`))
      expect(raw.status).toBe(404)
      yield* Fiber.interrupt(fiber)
      const after = yield* Effect.promise(() =>
        fetch(`${address}api/info`).then(
          () => "answered",
          () => "refused"
        )
      )
      expect(after).toBe("refused")
    })
    await Effect.runPromise(program.pipe(Effect.provide(EmbeddedPostgres.layerClient())) as Effect.Effect<void>)
  })
})
