import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
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

describe("Timestamp: years 0000 to 0099 and beyond 9999", () => {
  // Date.parse reads ISO text exactly; it is the oracle here (Date.UTC maps 0–99 to 1900–1999).
  const iso = (text: string) => Date.parse(text)

  it.each([
    ["0024-03-05T10:00:00", iso("0024-03-05T10:00:00Z")],
    ["0000-01-01", iso("0000-01-01T00:00:00Z")],
    ["0000-02-29", iso("0000-02-29T00:00:00Z")],
    ["0004-02-29T12:00:00Z", iso("0004-02-29T12:00:00Z")],
    ["0099-12-31T23:59:59.999", iso("0099-12-31T23:59:59.999Z")],
    ["0001-01-01T00:30:00+01:00", iso("0000-12-31T23:30:00Z")],
    ["9999-12-31T23:59:59.999", iso("9999-12-31T23:59:59.999Z")],
    ["+010000-01-01T00:00:00", iso("+010000-01-01T00:00:00Z")],
    ["-000001-12-31T00:00:00Z", iso("-000001-12-31T00:00:00Z")],
    ["+275760-09-13", 8.64e15]
  ])("reads %s exactly", (text, millis) => {
    expect(Number.isNaN(millis)).toBe(false)
    expect(Timestamp.parse(text)).toBe(millis)
  })

  it.each(["0100-02-29", "0001-02-29", "-000000-01-01", "+275760-09-14", "+10000-01-01", "+0010000-01-01"])(
    "rejects %j",
    (text) => {
      expect(Timestamp.parse(text)).toBeNaN()
    }
  )

  it("writes 4-digit years from 0000 to 9999, ECMAScript's ±YYYYYY beyond, and reads back what it writes", () => {
    expect(Timestamp.formatNaive(iso("0024-03-05T10:00:00Z"))).toBe("0024-03-05T10:00:00")
    expect(Timestamp.formatNaive(iso("0000-01-01T00:00:00.5Z"))).toBe("0000-01-01T00:00:00.500")
    expect(Timestamp.format(iso("0000-01-01T00:00:00Z"))).toBe("0000-01-01T00:00:00.000Z")
    expect(Timestamp.formatNaive(iso("+010000-01-01T00:00:00Z"))).toBe("+010000-01-01T00:00:00")
    expect(Timestamp.formatNaive(iso("-000001-06-01T12:00:00.250Z"))).toBe("-000001-06-01T12:00:00.250")
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (t) => {
        expect(Timestamp.parse(Timestamp.format(t))).toBe(t)
        expect(Timestamp.parse(Timestamp.formatNaive(t))).toBe(t)
      }),
      { numRuns: 2000 }
    )
    fc.assert(
      fc.property(fc.integer({ min: iso("0000-01-01T00:00:00Z"), max: iso("0100-01-01T00:00:00Z") - 1 }), (t) => {
        expect(Timestamp.formatNaive(t)).toMatch(/^00\d\d-/)
        expect(Timestamp.parse(Timestamp.formatNaive(t))).toBe(t)
      })
    )
  })
})
