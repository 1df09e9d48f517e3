import { Partition } from "@delfos/etl"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { describe, expect, it } from "vitest"
import * as Jobs from "../src/Jobs.ts"

const make = (partition: Partition.Partition, options: Jobs.JobOptions = {}) =>
  Effect.runSync(Jobs.make(partition, options))

const failure = <A>(effect: Effect.Effect<A, Jobs.InvalidJob>) => {
  const exit = Effect.runSyncExit(Effect.flip(effect))
  if (Exit.isFailure(exit)) throw new Error("expected a failure")
  return exit.value
}

describe("Jobs", () => {
  it("a partition's job carries the pipeline's defaults, and survives a trip through JSON", () => {
    const job = make(Partition.makeUnsafe("2024-01-01"))
    expect(job).toEqual({
      pipeline: "default",
      day: "2024-01-01",
      timeZone: "UTC",
      variables: ["wind_speed", "power"],
      statistics: ["mean", "min", "max", "std"],
      every: 600_000,
      sourceUrl: "http://localhost:8000/api/v1"
    })
    expect(Effect.runSync(Jobs.decode(JSON.parse(JSON.stringify(job))))).toEqual(job)
  })

  it("the key is pipeline:zone:day, and reads back", () => {
    const job = make(Partition.makeUnsafe("2024-03-10", "America/Sao_Paulo"), { pipeline: "site-7.nightly" })
    expect(Jobs.key(job)).toBe("site-7.nightly:America/Sao_Paulo:2024-03-10")
    expect(Jobs.parseKey(Jobs.key(job))).toEqual({ pipeline: "site-7.nightly", partition: Jobs.partitionOf(job) })
    expect(Jobs.parseKey("someone-else's-key")).toBeUndefined()
    expect(Jobs.parseKey("default:Mars/Olympus:2024-01-01")).toBeUndefined()
  })

  it("a batch of turbines is one job of one day, its turbines in order, keyed by them", () => {
    const batch = ["WTG10", "WTG02", "WTG01"].map((asset) => Partition.makeUnsafe("2024-01-01", "UTC", asset))
    const job = Effect.runSync(Jobs.ofBatch(batch, { pipeline: "farm" }))
    expect(job.assets).toEqual(["WTG01", "WTG02", "WTG10"])
    expect(Jobs.key(job)).toBe("farm:UTC:2024-01-01:WTG01,WTG02,WTG10")
    expect(Jobs.parseKey(Jobs.key(job))).toEqual({
      pipeline: "farm",
      partition: Jobs.partitionOf(job),
      assets: ["WTG01", "WTG02", "WTG10"]
    })
    expect(Jobs.partitionsOf(job)).toEqual([...batch].sort(Partition.compare))
    expect(Effect.runSync(Jobs.decode(JSON.parse(JSON.stringify(job))))).toEqual(job)
    // The job of one partition of the default series has no `assets`: the payload of earlier versions.
    expect(make(Partition.makeUnsafe("2024-01-01"))).not.toHaveProperty("assets")
    expect(Jobs.partitionsOf(make(Partition.makeUnsafe("2024-01-01")))).toEqual([Partition.makeUnsafe("2024-01-01")])
    expect(Jobs.parseKey("farm:UTC:2024-01-01:WTG01,WTG01")).toBeUndefined()
    expect(Jobs.parseKey("farm:UTC:2024-01-01:")).toBeUndefined()
  })

  it.each([
    [
      [Partition.makeUnsafe("2024-01-01", "UTC", "WTG01"), Partition.makeUnsafe("2024-01-02", "UTC", "WTG02")],
      "one day"
    ],
    [[Partition.makeUnsafe("2024-01-01"), Partition.makeUnsafe("2024-01-01", "UTC", "WTG02")], "not both"],
    [
      [Partition.makeUnsafe("2024-01-01", "UTC", "WTG01"), Partition.makeUnsafe("2024-01-01", "UTC", "WTG01")],
      "each turbine once"
    ],
    [
      Array.from({ length: 51 }, (_, i) => Partition.makeUnsafe("2024-01-01", "UTC", `WTG${i + 1}`)),
      "at most 50 turbines"
    ],
    [[], "at least one partition"]
  ])("a batch that is not one job is an InvalidJob (%#)", (batch, message) => {
    expect(failure(Jobs.ofBatch(batch)).message).toContain(message)
  })

  it("options become the pipeline's options", () => {
    const job = make(Partition.makeUnsafe("2024-01-01"), {
      pipeline: "all",
      variables: ["ambient_temperature"],
      statistics: ["count"],
      every: 3_600_000
    })
    expect(Jobs.pipelineOptions(job)).toEqual({
      name: "all",
      variables: ["ambient_temperature"],
      statistics: ["count"],
      every: 3_600_000
    })
  })

  it("the quality policy and --allow-empty travel with the job, through JSON, to the pipeline's options", () => {
    const job = make(Partition.makeUnsafe("2024-01-01"), { minCoverage: 0.8, strict: true, allowEmpty: true })
    expect(job).toMatchObject({ minCoverage: 0.8, strict: true, allowEmpty: true })
    const decoded = Effect.runSync(Jobs.decode(JSON.parse(JSON.stringify(job))))
    expect(Jobs.pipelineOptions(decoded)).toMatchObject({
      allowEmpty: true,
      quality: { minCoverage: 0.8, strict: true }
    })
    // Without a policy the job is the one of earlier versions, key for key.
    expect(Object.keys(make(Partition.makeUnsafe("2024-01-01"), { strict: false }))).not.toContain("strict")
  })

  it.each([
    [{ minCoverage: 1.5 }, 'at ["minCoverage"]'],
    [{ pipeline: "a:b" }, "pipeline name"],
    [{ variables: [] }, 'at ["variables"]'],
    [{ variables: ["rotor_speed"] }, 'unknown variable "rotor_speed"'],
    [{ statistics: ["median"] }, 'Expected "mean" | "min" | "max" | "std" | "count" | "coverage" at ["statistics"][0]'],
    [{ every: 0 }, 'at ["every"]'],
    [{ sourceUrl: "ftp://fonte/api" }, "http(s) URL"]
  ])("%j is an InvalidJob, before anything is queued", (options, message) => {
    const error = failure(Jobs.make(Partition.makeUnsafe("2024-01-01"), options))
    expect(error).toBeInstanceOf(Jobs.InvalidJob)
    expect(error.message).toContain(message)
    expect(error.message).not.toContain("\n")
  })

  it("a payload that is not a job is an InvalidJob naming the field", () => {
    expect(failure(Jobs.decode({ pipeline: "default", day: "2024-02-30" })).message).toMatch(/2024-02-30/)
    expect(failure(Jobs.decode("not even an object"))).toBeInstanceOf(Jobs.InvalidJob)
  })
})
