import { Partition } from "@delfos/etl"
import { parseCrontab } from "graphile-worker"
import { describe, expect, it } from "vitest"
import * as Jobs from "../src/Jobs.ts"
import * as Schedule from "../src/Schedule.ts"

const days = (partitions: ReadonlyArray<{ readonly day: string }>) => partitions.map((partition) => partition.day)

describe("Schedule", () => {
  it("a tick queues yesterday and the lookback days before it", () => {
    expect(days(Schedule.partitionsFor(Date.parse("2024-03-10T02:00:00Z"), 0))).toEqual(["2024-03-09"])
    expect(days(Schedule.partitionsFor(Date.parse("2024-03-10T02:00:00Z"), 2))).toEqual([
      "2024-03-07",
      "2024-03-08",
      "2024-03-09"
    ])
  })

  it("yesterday is reckoned in the partitions' time zone", () => {
    // 02:00 UTC on the 10th is still the 9th in São Paulo (UTC-3): yesterday there is the 8th.
    const zone = Partition.TimeZone.make("America/Sao_Paulo")
    const partitions = Schedule.partitionsFor(Date.parse("2024-03-10T02:00:00Z"), 0, zone)
    expect(partitions).toEqual([{ day: "2024-03-08", timeZone: "America/Sao_Paulo" }])
  })

  it("crontabFor makes a line graphile-worker reads: task, id, backfill and payload", () => {
    const line = Schedule.crontabFor({
      cron: "0 2 * * *",
      pipeline: "nightly",
      lookback: 2,
      fill: "3d",
      sourceUrl: "http://fonte:8000/api/v1",
      maxAttempts: 5
    })
    const [item] = parseCrontab(line)
    expect(item?.task).toBe(Schedule.enqueueRecentTask)
    expect(item?.identifier).toBe("delfos_nightly")
    expect(item?.options.backfillPeriod).toBe(3 * 86_400_000)
    expect(item?.payload).toEqual({
      pipeline: "nightly",
      timeZone: "UTC",
      variables: ["wind_speed", "power"],
      statistics: ["mean", "min", "max", "std"],
      every: 600_000,
      sourceUrl: "http://fonte:8000/api/v1",
      lookback: 2,
      maxAttempts: 5
    })
  })

  it.each([
    [{ cron: "61 * * * *" }, "line 1"],
    [{ cron: "0 2 * * *", fill: "3 days" }, "fill"],
    [{ cron: "0 2 * * *", lookback: -1 }, 'greater than or equal to 0 at ["lookback"]'],
    [{ cron: "0 2 * * *", timeZone: "Mars/Olympus" }, "Mars/Olympus"]
  ])("%j is refused", (options, message) => {
    expect(() => Schedule.crontabFor(options)).toThrow(Jobs.InvalidJob)
    expect(() => Schedule.crontabFor(options)).toThrow(message)
  })
})
