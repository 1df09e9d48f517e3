import { describe, expect, it } from "@effect/vitest"
import * as Timestamp from "../src/Timestamp.ts"

describe("Timestamp", () => {
  it.each([
    ["2024-01-01T00:00:00", Date.UTC(2024, 0, 1)],
    ["2024-01-01T00:00:00Z", Date.UTC(2024, 0, 1)],
    ["2024-01-01 10:20", Date.UTC(2024, 0, 1, 10, 20)],
    ["2024-01-01", Date.UTC(2024, 0, 1)],
    ["2024-01-03T23:59:59.5", Date.UTC(2024, 0, 3, 23, 59, 59, 500)],
    ["2024-01-03T23:59:59.123456", Date.UTC(2024, 0, 3, 23, 59, 59, 123)],
    ["2024-01-01T02:00:00+02:00", Date.UTC(2024, 0, 1)],
    ["2024-01-01T00:00:00-0300", Date.UTC(2024, 0, 1, 3)],
    ["2024-02-29T12:00:00Z", Date.UTC(2024, 1, 29, 12)]
  ])("reads %s (naive means UTC)", (text, millis) => {
    expect(Timestamp.parse(text)).toBe(millis)
  })

  it.each([
    "2024-02-30T00:00:00",
    "2023-02-29",
    "2024-13-45",
    "2024-01-01T24:00:00",
    "2024-01-01T10:60",
    "2024-01-01T00:00:00.",
    "2024-01-01T00:00:00Q",
    "yesterday",
    "",
    "2024-1-1"
  ])("rejects %j", (text) => {
    expect(Timestamp.parse(text)).toBeNaN()
  })

  it("writes ISO with Z, and the fonte's naive form", () => {
    const t = Date.UTC(2024, 0, 3, 23, 59, 59, 500)
    expect(Timestamp.format(t)).toBe("2024-01-03T23:59:59.500Z")
    expect(Timestamp.formatNaive(t)).toBe("2024-01-03T23:59:59.500")
    expect(Timestamp.formatNaive(Date.UTC(2024, 0, 1))).toBe("2024-01-01T00:00:00")
  })
})
