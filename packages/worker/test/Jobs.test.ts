import { Partition } from "@delfos/etl"
import { describe, expect, it } from "vitest"
import * as Jobs from "../src/Jobs.ts"

describe("Jobs", () => {
  it("a partition's job carries the pipeline's defaults, and survives a trip through JSON", () => {
    const job = Jobs.make(Partition.makeUnsafe("2024-01-01"))
    expect(job).toEqual({
      pipeline: "default",
      day: "2024-01-01",
      timeZone: "UTC",
      variables: ["wind_speed", "power"],
      statistics: ["mean", "min", "max", "std"],
      every: 600_000,
      sourceUrl: "http://localhost:8000/api/v1"
    })
    expect(Jobs.decode(JSON.parse(JSON.stringify(job)))).toEqual(job)
  })

  it("the key is pipeline:zone:day, and reads back", () => {
    const job = Jobs.make(Partition.makeUnsafe("2024-03-10", "America/Sao_Paulo"), { pipeline: "site-7.nightly" })
    expect(Jobs.key(job)).toBe("site-7.nightly:America/Sao_Paulo:2024-03-10")
    expect(Jobs.parseKey(Jobs.key(job))).toEqual({ pipeline: "site-7.nightly", partition: Jobs.partitionOf(job) })
    expect(Jobs.parseKey("someone-else's-key")).toBeUndefined()
    expect(Jobs.parseKey("default:Mars/Olympus:2024-01-01")).toBeUndefined()
  })

  it("options become the pipeline's options", () => {
    const job = Jobs.make(Partition.makeUnsafe("2024-01-01"), {
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

  it.each([
    [{ pipeline: "a:b" }, "pipeline name"],
    [{ variables: [] }, 'at ["variables"]'],
    [{ variables: ["rotor_speed"] }, 'unknown variable "rotor_speed"'],
    [{ statistics: ["median"] }, 'Expected "mean" | "min" | "max" | "std" | "count" at ["statistics"][0]'],
    [{ every: 0 }, 'at ["every"]'],
    [{ sourceUrl: "ftp://fonte/api" }, "http(s) URL"]
  ])("%j is refused before anything is queued", (options, message) => {
    expect(() => Jobs.make(Partition.makeUnsafe("2024-01-01"), options)).toThrow(Jobs.InvalidJob)
    expect(() => Jobs.make(Partition.makeUnsafe("2024-01-01"), options)).toThrow(message)
  })

  it("a payload that is not a job is an InvalidJob naming the field", () => {
    expect(() => Jobs.decode({ pipeline: "default", day: "2024-02-30" })).toThrow(/2024-02-30/)
    expect(() => Jobs.decode("not even an object")).toThrow(Jobs.InvalidJob)
  })
})
