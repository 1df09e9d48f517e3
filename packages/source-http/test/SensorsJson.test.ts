import { type Asset, Partition, SampleFrame, Signal, Source } from "@delfos/etl"
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import * as SensorsJson from "../src/SensorsJson.ts"
import { minuteRows, type SensorRow } from "./SensorsServer.ts"

const day = Partition.makeUnsafe("2024-01-01")
const range = Partition.range(day)
const variables = Signal.defaultVariables
const all = Signal.knownVariables

const decode = (body: string | Uint8Array, options: Partial<SensorsJson.DecodeOptions> = {}) =>
  SensorsJson.decode(body, { source: "test", variables, range, ...options })

/** The frames of a successful decode, as one. */
const frameOf = (body: string | Uint8Array, options: Partial<SensorsJson.DecodeOptions> = {}) => {
  const result = decode(body, options)
  if (Result.isFailure(result)) throw new Error(result.failure.message)
  return SampleFrame.concat(result.success, options.variables ?? variables)
}

/** The failure of a decode that must fail. */
const failureOf = (body: string | Uint8Array, options: Partial<SensorsJson.DecodeOptions> = {}) => {
  const result = decode(body, options)
  if (Result.isSuccess(result)) throw new Error("expected the decode to fail")
  return result.failure
}

const row = (timestamp: string, values: Partial<Record<string, unknown>> = {}) => ({
  timestamp,
  wind_speed: 10.19,
  power: 3962.51,
  ambient_temperature: null,
  ...values
})

const body = (rows: ReadonlyArray<unknown>) => JSON.stringify(rows)

/** The rows as the frame the decoder must give: `null` as `NaN`. */
const expectedFrame = (rows: ReadonlyArray<SensorRow>, names: ReadonlyArray<Signal.Variable> = variables) =>
  SampleFrame.fromRows(rows, names)

const day1 = minuteRows(range.start, range.end)

describe("SensorsJson.decode", () => {
  it("decodes a day of the API's answer into one frame, null as NaN", () => {
    const frame = frameOf(body(day1))
    expect(frame.length).toBe(1440)
    expect(frame).toEqual(expectedFrame(day1))
    expect(frame.columns.power![0]).toBeNaN()
    expect(Object.keys(frame.columns)).toEqual(["wind_speed", "power"])
  })

  it("reads bytes and text alike, and JSON laid out with whitespace and in any key order", () => {
    const pretty = JSON.stringify(day1.slice(0, 50), null, 2)
    const reordered = body(
      day1.slice(0, 50).map(({ power, timestamp, wind_speed }) => ({ power, wind_speed, timestamp }))
    )
    const expected = expectedFrame(day1.slice(0, 50))
    expect(frameOf(new TextEncoder().encode(pretty))).toEqual(expected)
    expect(frameOf(pretty)).toEqual(expected)
    expect(frameOf(reordered)).toEqual(expected)
    expect(frameOf(`\uFEFF ${body(day1.slice(0, 50))}\n`)).toEqual(expected)
  })

  it("reads only the asked variables: the others may be null, numbers, or any JSON", () => {
    const rows = [
      row("2024-01-01T00:00:00", {
        ambient_temperature: 24.81,
        id: 7,
        note: 'a "quoted" \\ note',
        extra: { a: [1, true] }
      }),
      row("2024-01-01T00:01:00", { power: null, ambient_temperature: null, extra: [] })
    ]
    const onlyWind = frameOf(body(rows), { variables: ["wind_speed" as Signal.Variable] })
    expect(Object.keys(onlyWind.columns)).toEqual(["wind_speed"])
    expect([...onlyWind.columns.wind_speed!]).toEqual([10.19, 10.19])
    const everything = frameOf(body(rows), { variables: all })
    expect([...everything.columns.ambient_temperature!]).toEqual([24.81, Number.NaN])
    expect([...everything.columns.power!]).toEqual([3962.51, Number.NaN])
  })

  it("reads numbers exactly as JSON.parse does", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 50 }),
        (values) => {
          const rows = values.map((value, i) => row(`2024-01-01T00:${String(i).padStart(2, "0")}:00`, { power: value }))
          const text = body(rows)
          const parsed = (JSON.parse(text) as Array<{ power: number }>).map((r) => r.power)
          const frame = frameOf(text)
          for (const [i, value] of parsed.entries()) expect(Object.is(frame.columns.power![i], value)).toBe(true)
        }
      )
    )
    const written = [
      "0",
      "-0",
      "1E2",
      "1.5e-3",
      "-2.25E+1",
      "123456789012345678901234567890",
      "1e-400",
      "0.1000000000000000055511151231257827"
    ]
    const rowText = (n: string, i: number) => `{"timestamp":"2024-01-01T00:0${i}:00","wind_speed":${n},"power":null}`
    const text = `[${written.map(rowText).join(",")}]`
    expect([...frameOf(text).columns.wind_speed!]).toEqual(written.map(Number))
  })

  it("names the row and the field of a value of the wrong type", () => {
    const rows = day1.slice(0, 10).map((r, i) => (i === 7 ? { ...r, power: "3962.51" } : r))
    const failure = failureOf(body(rows))
    expect(failure).toBeInstanceOf(Source.SourceInvalidData)
    expect(failure).toMatchObject({ source: "test", row: 7, field: "power" })
    expect(failure.reason).toBe('expected a number or null, got a string: "3962.51"')
    expect(failureOf(body([row("2024-01-01T00:00:00", { wind_speed: true })]))).toMatchObject({
      row: 0,
      field: "wind_speed",
      reason: "expected a number or null, got a boolean: true"
    })
    expect(failureOf(body([row("2024-01-01T00:00:00", { wind_speed: [1] })])).reason).toContain("got an array")
    expect(failureOf('[{"timestamp":"2024-01-01T00:00:00","wind_speed":1e999,"power":1}]')).toMatchObject({
      field: "wind_speed",
      reason: "1e999 is not a finite number"
    })
  })

  it("refuses a row without an asked variable, or with a missing or invalid timestamp", () => {
    expect(failureOf(body([row("2024-01-01T00:00:00"), { timestamp: "2024-01-01T00:01:00", power: 1 }]))).toMatchObject(
      {
        row: 1,
        field: "wind_speed",
        reason: 'missing key "wind_speed"'
      }
    )
    expect(failureOf(body([{ wind_speed: 1, power: 2 }]))).toMatchObject({ row: 0, field: "timestamp" })
    expect(failureOf(body([row("2024-02-30T00:00:00")]))).toMatchObject({
      row: 0,
      field: "timestamp",
      reason: 'invalid timestamp "2024-02-30T00:00:00": expected ISO 8601 such as 2024-01-01T00:00:00'
    })
    expect(failureOf(body([row("2024-01-01T24:00:00")])).field).toBe("timestamp")
    expect(failureOf(body([row("yesterday")])).field).toBe("timestamp")
    expect(failureOf(body([{ ...row(""), timestamp: 1704067200000 }])).reason).toContain("got a number: 1704067200000")
    expect(failureOf(body([{ ...row(""), timestamp: null }])).reason).toContain("got null")
  })

  it("refuses a row that is not an object, and a body that is not an array", () => {
    expect(failureOf(body([row("2024-01-01T00:00:00"), [1, 2]]))).toMatchObject({
      row: 1,
      reason: "expected an object, got an array: [1,2]"
    })
    expect(failureOf('{"detail":"Not Found"}').reason).toBe(
      'expected a JSON array of samples, got an object: {"detail":"Not Found"}'
    )
    expect(failureOf("<html><body>Bad Gateway</body></html>").reason).toMatch(/^the body is not JSON: <html>/)
    expect(failureOf("").reason).toBe("the body is empty; expected a JSON array of samples")
    expect(failureOf("[] []").reason).toContain("expected the end of the body after the array")
    expect(failureOf('[{"timestamp":"2024-01-01T00:00:00","wind_speed":1,"power":2,}]').reason).toContain(
      "invalid JSON at byte"
    )
  })

  it("fails on a body cut anywhere: no partial data", () => {
    const text = body(day1.slice(0, 3).map((r) => ({ ...r, note: 'x"y', list: [1, { a: null }] })))
    for (let cut = 0; cut < text.length; cut++) {
      const result = decode(text.slice(0, cut))
      expect(Result.isFailure(result), `cut at ${cut}`).toBe(true)
    }
    expect(failureOf(body(day1).slice(0, 5000)).reason).toBe("the body ends before its JSON does (truncated)")
  })

  it("drops samples before the range and at or after its end, keeps sub-second ones just before it", () => {
    const rows = [
      row("2023-12-31T23:59:59.999"),
      row("2024-01-01T00:00:00"),
      row("2024-01-01T12:00:00.250"),
      row("2024-01-01T23:59:59.5"),
      row("2024-01-02T00:00:00"),
      row("2024-01-02T00:01:00")
    ]
    const frame = frameOf(body(rows))
    expect([...frame.timestamps]).toEqual([
      Date.UTC(2024, 0, 1),
      Date.UTC(2024, 0, 1, 12, 0, 0, 250),
      Date.UTC(2024, 0, 1, 23, 59, 59, 500)
    ])
    // Without a range, every sample is kept.
    expect(frameOf(body(rows), { range: undefined }).length).toBe(6)
  })

  it("reads timestamps in any ISO 8601 form, as Timestamp.parse does", () => {
    const rows = [
      row("2024-01-01T00:00:00Z"),
      row("2024-01-01 00:01:00"),
      row("2024-01-01T00:02:00+00:00"),
      row("2024-01-01T03:03:00+03:00"),
      row("2024-01-01T00:04"),
      row("2024-01-01T00:05:00.123456")
    ]
    expect([...frameOf(body(rows)).timestamps]).toEqual(
      [0, 1, 2, 3, 4, 5].map((m) => Date.UTC(2024, 0, 1, 0, m, 0, m === 5 ? 123 : 0))
    )
    // An escaped timestamp is still one.
    expect([...frameOf('[{"timestamp":"2024-01-01T00:00:0\\u0030","wind_speed":1,"power":2}]').timestamps]).toEqual([
      Date.UTC(2024, 0, 1)
    ])
  })

  it("cuts a large answer into frames of frameSize samples", () => {
    const rows = minuteRows(range.start, range.start + 25 * 60_000)
    const result = decode(body(rows), { frameSize: 10 })
    if (Result.isFailure(result)) throw new Error(result.failure.message)
    expect(result.success.map((frame) => frame.length)).toEqual([10, 10, 5])
    expect(SampleFrame.concat(result.success, variables)).toEqual(expectedFrame(rows))
    expect(decode(body(rows.slice(0, 10)), { frameSize: 10 })).toMatchObject({ success: [{ length: 10 }] })
    expect(decode("[]")).toMatchObject({ success: [] })
    expect(() => decode("[]", { frameSize: 0 })).toThrow(RangeError)
  })
})

describe("SensorsJson.decode, a farm's answer (turbine_id)", () => {
  const turbines = ["WTG01", "WTG02", "WTG10"] as Array<Asset.AssetId>
  // Rows of three turbines, a turbine's rows together (as the fonte orders them), the key in any place.
  const farmRows = turbines.flatMap((turbine, t) =>
    day1.map((sample, i) =>
      i % 3 === 0
        ? { turbine_id: turbine, ...sample, wind_speed: t * 100 + (sample.wind_speed ?? 0) }
        : { ...sample, wind_speed: t * 100 + (sample.wind_speed ?? 0), turbine_id: turbine }
    )
  )

  it("gives one run of frames per turbine, tagged with it, each the turbine's own samples", () => {
    const result = decode(body(farmRows), { assets: turbines, frameSize: 500 })
    if (Result.isFailure(result)) throw new Error(result.failure.message)
    const frames = result.success
    expect(frames.map((frame) => frame.asset)).toEqual(turbines.flatMap((turbine) => [turbine, turbine, turbine]))
    for (const [t, turbine] of turbines.entries()) {
      const own = SampleFrame.concat(
        frames.filter((frame) => frame.asset === turbine),
        variables
      )
      const expected = expectedFrame(
        day1.map((sample) => ({ ...sample, wind_speed: t * 100 + (sample.wind_speed ?? 0) })),
        variables
      )
      expect(own.timestamps).toEqual(expected.timestamps)
      expect(own.columns).toEqual(expected.columns)
    }
  })

  it("refuses a row without turbine_id, of a turbine not asked for, or a turbine id that is not a string", () => {
    const asked = ["WTG01"] as Array<Asset.AssetId>
    const missing = failureOf(body([row("2024-01-01T00:00:00")]), { assets: asked })
    expect(missing).toMatchObject({ row: 0, field: "turbine_id", reason: 'missing key "turbine_id"' })
    const other = failureOf(body([{ ...row("2024-01-01T00:00:00"), turbine_id: "WTG07" }]), { assets: asked })
    expect(other).toMatchObject({ row: 0, field: "turbine_id" })
    expect(other.reason).toMatch(/turbine "WTG07" was not asked for/)
    const number = failureOf(body([{ ...row("2024-01-01T00:00:00"), turbine_id: 7 }]), { assets: asked })
    expect(number.reason).toMatch(/expected a turbine id in quotes, got a number/)
  })

  it("reads an escaped turbine id as the id it spells", () => {
    const text = body([row("2024-01-01T00:00:00"), row("2024-01-01T00:01:00")]).replaceAll(
      '"timestamp"',
      '"turbine_id":"WTG\\u0030\\u0031","timestamp"'
    )
    const result = decode(text, { assets: ["WTG01"] as Array<Asset.AssetId> })
    if (Result.isFailure(result)) throw new Error(result.failure.message)
    expect(result.success.map((frame) => [frame.asset, frame.length])).toEqual([["WTG01", 2]])
  })
})
