import { Asset, Partition, Scheduler } from "@delfos/etl"
import * as Cron from "effect/Cron"
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import * as Schedule from "../src/Schedule.ts"

const utc = Partition.utc
const saoPaulo = Partition.TimeZone.make("America/Sao_Paulo")
const definition = { name: "nightly", startDay: Partition.Day.make("2024-03-01"), timeZone: utc }
const days = (partitions: ReadonlyArray<{ readonly day: string }>) => partitions.map((partition) => partition.day)

describe("Schedule", () => {
  it("a tick plans the days due (start day to yesterday) and forces the last `lookback`, yesterday included", () => {
    const at = Date.parse("2024-03-10T00:15:00Z")
    const { due, force } = Schedule.plan(definition, at, 2)
    expect(days(due)).toEqual(Partition.days(Partition.Day.make("2024-03-01"), Partition.Day.make("2024-03-09")))
    expect(force).toEqual(["2024-03-08", "2024-03-09"])
    expect(Schedule.plan(definition, at, 0).force).toEqual([])
    // The same rule as the core's in-process schedule: 2 by default.
    expect(Schedule.plan(definition, at).force).toEqual(["2024-03-08", "2024-03-09"])
    expect(Schedule.defaultLookback).toBe(2)
  })

  it("a fleet's tick plans each day for each turbine, and forces the last `lookback` days, every turbine of them", () => {
    const assets = ["WTG01", "WTG02", "WTG03"].map((asset) => Asset.AssetId.make(asset))
    const at = Date.parse("2024-03-10T00:15:00Z")
    const { due, force } = Schedule.plan({ ...definition, assets }, at, 2)
    expect(due.length).toBe(9 * 3)
    expect(due.slice(0, 4)).toEqual([
      { day: "2024-03-01", timeZone: "UTC", asset: "WTG01" },
      { day: "2024-03-01", timeZone: "UTC", asset: "WTG02" },
      { day: "2024-03-01", timeZone: "UTC", asset: "WTG03" },
      { day: "2024-03-02", timeZone: "UTC", asset: "WTG01" }
    ])
    expect(force).toEqual(["2024-03-08", "2024-03-09"])
  })

  it("yesterday is reckoned in the pipeline's time zone", () => {
    // 02:00 UTC on the 10th is still the 9th in São Paulo (UTC-3): yesterday there is the 8th.
    const { due, force } = Schedule.plan({ ...definition, timeZone: saoPaulo }, Date.parse("2024-03-10T02:00:00Z"), 1)
    expect(due.at(-1)).toEqual({ day: "2024-03-08", timeZone: "America/Sao_Paulo" })
    expect(force).toEqual(["2024-03-08"])
  })

  it("the cron is read in the pipeline's time zone, with the core scheduler's default", () => {
    const cron = Effect.runSync(Schedule.validate({ ...definition, timeZone: saoPaulo }, {}))
    expect(Scheduler.defaultCron).toBe("15 0 * * *")
    // 00:15 in São Paulo is 03:15 UTC.
    expect(Cron.next(cron, Date.parse("2024-03-10T00:00:00Z")).toISOString()).toBe("2024-03-10T03:15:00.000Z")
  })

  it.each([
    [{ cron: "61 * * * *" }, 'invalid cron "61 * * * *"'],
    [{ lookback: -1 }, "lookback must be a whole number ≥ 0, got -1"],
    [{ maxAttempts: 0 }, "maxAttempts must be a whole number from 1 to 32767, got 0"],
    [{ variables: ["rotor_speed"] }, 'unknown variable "rotor_speed"'],
    [{ sourceUrl: "fonte:8000" }, "http(s) URL"],
    [{ batchSize: 0 }, "batchSize must be a whole number from 1 to 50, got 0"],
    [{ batchSize: 51 }, "batchSize must be a whole number from 1 to 50, got 51"],
    [{ assets: ["WTG01", "WTG 02"] }, 'invalid asset "WTG 02"'],
    [{ assets: [] }, "assets is empty"]
  ])("%j is refused before any I/O", (options, message) => {
    const error = Effect.runSync(Effect.flip(Schedule.validate(definition, options)))
    expect(error.message).toContain(message)
  })

  it("a definition's turbines are checked before any I/O", () => {
    const fleet = { ...definition, assets: ["WTG01", "WTG 02"] as unknown as ReadonlyArray<Asset.AssetId> }
    const error = Effect.runSync(Effect.flip(Schedule.validate(fleet, {})))
    expect(error.message).toContain('"WTG 02"')
    expect(error.message).not.toContain("\n")
  })
})
