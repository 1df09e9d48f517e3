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

describe("Partition: years 0000 to 0099 and the last day, 9999-12-31", () => {
  const iso = (text: string) => Date.parse(text)

  it.effect("days of the years 0000 to 0099 exist, exactly as written", () =>
    Effect.gen(function* () {
      const partition = yield* Partition.parse("0024-01-01")
      expect(Partition.range(partition)).toEqual({
        start: iso("0024-01-01T00:00:00Z"),
        end: iso("0024-01-02T00:00:00Z")
      })
      yield* Partition.parse("0000-01-01")
      yield* Partition.parse("0000-02-29")
      const notADay = yield* Effect.flip(Partition.parse("0100-02-29"))
      expect(notADay.message).toBe('invalid date "0100-02-29": expected an existing day YYYY-MM-DD')
      expect(Partition.addDays(Partition.Day.make("0024-12-31"), 1)).toBe("0025-01-01")
      expect(Partition.days(Partition.Day.make("0000-02-28"), Partition.Day.make("0000-03-01"))).toHaveLength(3)
      expect(Partition.dayOf(iso("0024-03-05T10:00:00Z"))).toBe("0024-03-05")
      expect(Partition.range(Partition.makeUnsafe("0024-01-01", "America/Sao_Paulo")).start).toBe(
        // Local mean time in Sao Paulo before time zones: UTC-3:06:28.
        iso("0024-01-01T03:06:28Z")
      )
      expect(Schema.is(Partition.Day)("0099-12-31")).toBe(true)
    })
  )

  it("the last 4-digit day ends at 10000-01-01T00:00:00Z", () => {
    expect(Partition.range(Partition.makeUnsafe("9999-12-31"))).toEqual({
      start: iso("9999-12-31T00:00:00Z"),
      end: iso("+010000-01-01T00:00:00Z")
    })
    expect(Partition.range(Partition.makeUnsafe("9999-12-31", "Europe/Berlin")).end).toBe(
      iso("+009999-12-31T23:00:00Z")
    )
  })
})
