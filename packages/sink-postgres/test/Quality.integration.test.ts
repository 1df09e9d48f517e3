/**
 * Quality findings in the target: one row per partition × variable × check with the run that
 * produced them, replaced with the partition, read back in the checks' order; `degraded` runs.
 */
import { MemorySource, Partition, Pipeline, Runner, SampleFrame } from "@delfos/etl"
import { TestDatabase } from "@delfos/test-utils"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { Migrations, PostgresSink, RunLedger } from "../src/index.ts"
import { mapFrame, minuteFrame } from "./helpers.ts"

const days = ["2024-03-10", "2024-03-11"].map((day) => Partition.makeUnsafe(day, "UTC", "WTG05"))
const healthy = SampleFrame.withAsset(minuteFrame("2024-03-10", 2, 3), days[0]!.asset)
// Four hours without wind speed on the 10th.
const start = Partition.range(days[0]!).start
const gappy = SampleFrame.withAsset(
  mapFrame(healthy, (t, variable, value) =>
    variable === "wind_speed" && t >= start + 8 * 3_600_000 && t < start + 12 * 3_600_000 ? Number.NaN : value
  ),
  days[0]!.asset
)

const run = (frame: SampleFrame.SampleFrame, options: Pipeline.PipelineOptions = {}) =>
  Pipeline.runBatchRecorded([days[0]!], { name: "q", ...options }).pipe(
    Effect.provide(
      Layer.mergeAll(
        MemorySource.layer([frame]),
        PostgresSink.layerFromClient(),
        RunLedger.layerFromClient,
        Runner.layer({ id: "test:1" })
      )
    )
  )

layer(TestDatabase.pgClientLayer(), { timeout: "2 minutes", excludeTestServices: true })(
  "quality in the target",
  (it) => {
    it.effect(
      "findings stored per variable and check with their run, replaced by the next run, read back as reported",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* Migrations.migrate
          const [first] = yield* run(gappy)
          expect(
            first!.quality!.find((entry) => entry.check === "longest_gap" && entry.variable === "wind_speed")
          ).toMatchObject({
            value: 240,
            severity: "error"
          })
          const rows = yield* sql<{
            n: number
            runs: number
          }>`SELECT count(*)::int AS n, count(DISTINCT run_id)::int AS runs FROM quality`
          expect(rows[0]).toEqual({ n: first!.quality!.length, runs: 1 })
          const back = yield* RunLedger.make.pipe(Effect.flatMap((ledger) => ledger.quality("q")))
          expect(back).toEqual([{ ...days[0]!, runId: expect.any(Number), findings: first!.quality }])

          // Healthy again: the partition's findings are the new run's, no error left.
          const [second] = yield* run(healthy)
          const after = yield* sql<{ worst: string; runs: number }>`
        SELECT max(CASE severity WHEN 'error' THEN 'error' WHEN 'warn' THEN 'warn' ELSE 'ok' END) AS worst,
          count(DISTINCT run_id)::int AS runs FROM quality`
          expect(after[0]!.runs).toBe(1)
          expect(second!.quality!.some((entry) => entry.severity === "error")).toBe(false)
          expect(after[0]!.worst).not.toBe("error")
        })
    )

    it.effect("a partition below the minimum coverage is recorded degraded, loaded", () =>
      Effect.gen(function* () {
        yield* Migrations.migrate
        const [report] = yield* run(gappy, { quality: { minCoverage: 0.9 } })
        expect(report!.status).toBe("degraded")
        const runs = yield* RunLedger.make.pipe(Effect.flatMap((ledger) => ledger.runs("q", days[0]!)))
        expect(runs.at(-1)!.status).toBe("degraded")
        expect(runs.at(-1)!.rowsWritten).toBeGreaterThan(0)
      })
    )
  }
)
