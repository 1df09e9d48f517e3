import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Partition from "../src/Partition.ts"
import * as Window from "../src/Window.ts"

const hours = (range: Partition.TimeRange) => (range.end - range.start) / 3_600_000

describe("Partition", () => {
  it("a UTC day is [00:00, next 00:00)", () => {
    const range = Partition.range(Partition.makeUnsafe("2024-01-01"))
    expect(range).toEqual({ start: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 0, 2) })
  })

  it("a local day starts at local midnight and lasts 23 or 25 hours on DST days", () => {
    expect(Partition.range(Partition.makeUnsafe("2024-03-31", "Europe/Berlin")).start).toBe(Date.UTC(2024, 2, 30, 23))
    expect(hours(Partition.range(Partition.makeUnsafe("2024-03-31", "Europe/Berlin")))).toBe(23)
    expect(hours(Partition.range(Partition.makeUnsafe("2024-10-27", "Europe/Berlin")))).toBe(25)
    expect(hours(Partition.range(Partition.makeUnsafe("2024-06-01", "America/Sao_Paulo")))).toBe(24)
  })

  it("where midnight does not exist (Sao Paulo, 2018-11-04), the day starts after the gap", () => {
    const range = Partition.range(Partition.makeUnsafe("2018-11-04", "America/Sao_Paulo"))
    expect(range.start).toBe(Date.UTC(2018, 10, 4, 3))
    expect(hours(range)).toBe(23)
    // The day before ends where this one starts: no instant is in two partitions or none.
    expect(Partition.range(Partition.makeUnsafe("2018-11-03", "America/Sao_Paulo")).end).toBe(range.start)
  })

  it("lists days across month and leap-year ends", () => {
    expect(Partition.days(Partition.Day.make("2024-02-28"), Partition.Day.make("2024-03-01"))).toEqual([
      "2024-02-28",
      "2024-02-29",
      "2024-03-01"
    ])
    expect(Partition.addDays(Partition.Day.make("2024-12-31"), 1)).toBe("2025-01-01")
    expect(Partition.dayOf(Date.UTC(2024, 0, 1, 23, 30), Partition.TimeZone.make("Asia/Kolkata"))).toBe("2024-01-02")
  })

  it("numbers days from 1970-01-01 and names their weekday, Monday 0, before 1970 too", () => {
    const day = (text: string) => Partition.Day.make(text)
    expect(Partition.dayNumber(day("1970-01-01"))).toBe(0)
    expect(Partition.dayNumber(day("2024-03-01")) - Partition.dayNumber(day("2024-02-28"))).toBe(2)
    expect(Partition.weekday(day("2024-01-01"))).toBe(0)
    expect(Partition.weekday(day("2024-01-07"))).toBe(6)
    expect(Partition.weekday(day("1970-01-01"))).toBe(3)
    expect(Partition.weekday(day("1969-12-29"))).toBe(0)
  })

  it.effect("decoding unknown input names the wrong field", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Schema.decodeUnknownEffect(Partition.Partition)({ day: "2024-02-30", timeZone: "UTC" })
      )
      expect(error.message).toContain('expected a calendar day YYYY-MM-DD, got "2024-02-30"')
      expect(error.message).toContain('["day"]')
    })
  )
})

describe("Window", () => {
  it.effect.each([
    ["10min", 600_000],
    ["10 minutes", 600_000],
    ["10T", 600_000],
    ["1h", 3_600_000],
    ["30s", 30_000],
    ["1.5 hours", 5_400_000]
  ] as const)("reads %s", ([input, millis]) =>
    Effect.gen(function* () {
      expect(yield* Window.parseLength(input)).toBe(millis)
    })
  )

  it.effect.each(["0min", "ten minutes", "10 parsecs", "0.5ms", ""])("rejects %j with a clear message", (input) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Window.parseLength(input))
      expect(error._tag).toBe("InvalidWindowLength")
      expect(error.message).toContain(`invalid window length "${input}"`)
    })
  )
})
