import { Timestamp } from "@delfos/etl"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as SensorJson from "../src/SensorJson.ts"

describe("SensorJson", () => {
  it("writes every number as String does", () => {
    const edges = [0, -0, 1, -1, 0.1, 0.07, 1.005, 10.19, 4999.99, 5000, -12.5, 1e-7, 123456789012.34, 1e13, 1e15, 1e21]
    for (const value of [...edges, Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 2 ** 53, 0.1 + 0.2]) {
      expect(SensorJson.formatNumber(value)).toBe(String(value))
    }
    // Sensor values (hundredths), and any double at all.
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), (hundredths) => {
        const value = hundredths / 100
        expect(SensorJson.formatNumber(value)).toBe(String(value))
      }),
      { numRuns: 20_000 }
    )
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(SensorJson.formatNumber(value)).toBe(String(value))
      }),
      { numRuns: 20_000 }
    )
  })

  it("writes every instant as Timestamp.formatNaive does", () => {
    const edges = [
      "0000-01-01",
      "0024-03-05T10:00:00",
      "1969-12-31T23:59:59",
      "9999-12-31T23:59:59.999",
      "+010000-01-01"
    ]
    for (const text of edges) {
      const millis = Timestamp.parse(text)
      expect(SensorJson.formatNaive(millis)).toBe(Timestamp.formatNaive(millis))
    }
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.boolean(), (millis, whole) => {
        const instant = whole ? millis - (millis % 1000) : millis
        expect(SensorJson.formatNaive(instant)).toBe(Timestamp.formatNaive(instant))
      }),
      { numRuns: 20_000 }
    )
  })
})
