import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Sample from "../src/Sample.ts"
import * as SampleFrame from "../src/SampleFrame.ts"
import type { SignalName, Variable } from "../src/Signal.ts"
import * as TidyRows from "../src/TidyRows.ts"

const variables = ["wind_speed", "power"] as Array<Variable>

describe("SampleFrame", () => {
  it("converts rows to columns and back, null as NaN", () => {
    const rows = [
      { timestamp: "2024-01-01T00:00:00.000Z", wind_speed: 10.19, power: null },
      { timestamp: "2024-01-01T00:01:00.000Z", wind_speed: null, power: 3962.51 }
    ]
    const frame = SampleFrame.fromRows(rows, variables)
    expect(frame.length).toBe(2)
    expect([...frame.timestamps]).toEqual([Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 1, 0, 1)])
    expect(frame.columns.power![0]).toBeNaN()
    expect(SampleFrame.toRows(frame)).toEqual(rows)
  })

  it("refuses columns of the wrong length and rows with unreadable timestamps", () => {
    expect(() => SampleFrame.make(new Float64Array(2), { power: new Float64Array(3) })).toThrow(
      'column "power" has 3 values for 2 timestamps'
    )
    expect(() => SampleFrame.fromRows([{ timestamp: "2024-02-30T00:00:00" }], variables)).toThrow(
      'row 0: invalid timestamp "2024-02-30T00:00:00"'
    )
  })

  it("chunks and concatenates without changing the samples", () => {
    const frame = SampleFrame.make(
      Float64Array.from({ length: 10 }, (_, i) => i),
      { power: Float64Array.from({ length: 10 }, (_, i) => i * 2) }
    )
    const chunks = SampleFrame.chunks(frame, 3)
    expect(chunks.map((chunk) => chunk.length)).toEqual([3, 3, 3, 1])
    const whole = SampleFrame.concat(chunks, ["power" as Variable, "wind_speed" as Variable])
    expect([...whole.columns.power!]).toEqual([...frame.columns.power!])
    expect([...whole.columns.wind_speed!].every(Number.isNaN)).toBe(true)
  })
})

describe("Sample", () => {
  it.effect("decoding a bad row names the field", () =>
    Effect.gen(function* () {
      const decode = Schema.decodeUnknownEffect(Sample.Sample)
      const wrongType = yield* Effect.flip(decode({ timestamp: "2024-01-01T00:00:00", wind_speed: "fast" }))
      expect(wrongType.message).toContain('["wind_speed"]')
      const badTime = yield* Effect.flip(decode({ timestamp: "2024-13-45T00:00:00", power: 1 }))
      expect(badTime.message).toContain('["timestamp"]')
      const ok = yield* decode({ timestamp: "2024-01-01T00:00:00", wind_speed: 10.19, power: null })
      expect(ok).toEqual({ timestamp: "2024-01-01T00:00:00", wind_speed: 10.19, power: null })
    })
  )
})

describe("TidyRows", () => {
  it("round-trips objects through the columnar form", () => {
    const rows = [
      { timestamp: "2024-01-01T00:00:00.000Z", signal: "power_mean" as SignalName, value: 1.5 },
      { timestamp: "2024-01-01T00:00:00.000Z", signal: "wind_speed_mean" as SignalName, value: 7 },
      { timestamp: "2024-01-01T00:10:00.000Z", signal: "power_mean" as SignalName, value: 2 }
    ]
    const columnar = TidyRows.fromArray(rows)
    expect(columnar.signals).toEqual(["power_mean", "wind_speed_mean"])
    expect(TidyRows.toArray(columnar)).toEqual(rows)
  })

  it("refuses a value that is not finite", () => {
    expect(() => TidyRows.fromArray([{ timestamp: 0, signal: "power_mean" as SignalName, value: Number.NaN }])).toThrow(
      "row 0: value NaN is not finite"
    )
  })
})
