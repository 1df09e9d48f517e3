/**
 * The seeded farm's faults are the ground truth of the quality checks: run through the pipeline
 * with the default checks, exactly the turbine-days `Generator.faults` lists are flagged (warn or
 * error), and none of the healthy ones.
 */
import { type Asset, MemorySink, MemorySource, Partition, Pipeline, SampleFrame } from "@delfos/etl"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { describe, expect, it } from "vitest"
import * as Generator from "../src/Generator.ts"

const turbines = 20
const days = 45
const start = Date.parse("2024-03-01T00:00:00Z")
const dayMillis = 86_400_000

describe("the default quality checks on the seeded farm", () => {
  it(`flag exactly the planted faults of ${turbines} turbines × ${days} days`, async () => {
    const farm = Generator.farm(42)
    const fleet = Generator.turbines(turbines)
    const frames = fleet.flatMap((turbine) =>
      Array.from({ length: days }, (_, d) =>
        SampleFrame.withAsset(
          farm.turbineDay(turbine.number, start + d * dayMillis),
          turbine.turbineId as Asset.AssetId
        )
      )
    )
    const partitions = Partition.forAssets(
      Array.from({ length: days }, (_, d) => ({
        day: Partition.dayOf(start + d * dayMillis),
        timeZone: Partition.utc
      })),
      fleet.map((turbine) => turbine.turbineId as Asset.AssetId)
    )
    const reports = await Effect.runPromise(
      Pipeline.runAll(partitions, { variables: ["wind_speed", "power"] as never, batchSize: 10 }).pipe(
        Effect.provide(Layer.merge(MemorySource.layer(frames), MemorySink.layer()))
      )
    )
    expect(reports).toHaveLength(turbines * days)
    expect(reports.every((report) => report.status === "succeeded")).toBe(true)
    const flagged = reports
      .filter((report) => report.quality!.some((finding) => finding.severity !== "ok"))
      .map((report) => `${report.asset} ${report.day}`)
      .sort()
    const faults = Generator.faults({ seed: 42, turbines, start, days })
    const planted = faults.map((fault) => `${fault.turbine} ${fault.day}`).sort()
    // Every kind is there (the problem turbines have one every third day), and healthy days too.
    expect(new Set(faults.map((fault) => fault.kind))).toEqual(
      new Set(["stuck_wind_sensor", "curtailment", "downtime"])
    )
    expect(planted.length).toBeGreaterThanOrEqual(3 * Math.floor(days / 3))
    expect(planted.length).toBeLessThan((turbines * days) / 4)
    expect(flagged).toEqual(planted)
  }, 120_000)
})
