import { describe, expect, it } from "@effect/vitest"
import * as Requests from "../src/Requests.ts"

const query = (text: string) => Requests.sensorsQuery(new URLSearchParams(text))

describe("Requests.sensorsQuery", () => {
  it("reads inclusive bounds, repeated and comma-separated metrics, all metrics by default", () => {
    const repeated = query("start_date=2024-01-01&end_date=2024-01-02&metrics=power&metrics=wind_speed")
    expect(repeated).toEqual({
      _tag: "Valid",
      value: {
        start: Date.UTC(2024, 0, 1),
        end: Date.UTC(2024, 0, 2),
        metrics: ["power", "wind_speed"],
        format: "json",
        turbines: undefined
      }
    })
    const comma = query("start_date=2024-01-01T00:00:00&end_date=2024-01-01T00:00:00&metrics=power,ambient_temperature")
    expect(comma._tag === "Valid" && comma.value.metrics).toEqual(["power", "ambient_temperature"])
    const all = query("start_date=2024-01-01&end_date=2024-01-02")
    expect(all._tag === "Valid" && all.value.metrics).toEqual(["wind_speed", "power", "ambient_temperature"])
  })

  it("reads turbine_id repeated and comma-separated, each once in the order given, with the parameter that named it", () => {
    const farm = query(
      "start_date=2024-01-01&end_date=2024-01-02&turbine_id=WTG03,WTG01&turbine_id=WTG03&turbine_id=A.b-1_2"
    )
    expect(farm._tag === "Valid" && farm.value.turbines).toEqual([
      { turbineId: "WTG03", index: 0 },
      { turbineId: "WTG01", index: 0 },
      { turbineId: "A.b-1_2", index: 2 }
    ])
    const unknown = Requests.unknownTurbines(
      farm._tag === "Valid" ? farm.value.turbines! : [],
      new Set(["WTG01", "WTG03"])
    )
    expect(unknown).toMatchObject({
      status: 422,
      detail: [{ type: "value_error", loc: ["query", "turbine_id", 2], input: "A.b-1_2" }]
    })
    expect(Requests.unknownTurbines([{ turbineId: "WTG01", index: 0 }], new Set(["WTG01"]))).toBeUndefined()
  })

  it("answers a reversed range with 400 and a message", () => {
    expect(query("start_date=2024-01-02&end_date=2024-01-01")).toEqual({
      _tag: "Invalid",
      status: 400,
      detail: "start_date must be before or equal to end_date"
    })
  })

  it.each([
    ["start_date=2024-13-45&end_date=2024-01-01", ["query", "start_date"]],
    ["start_date=2024-01-01", ["query", "end_date"]],
    ["start_date=2024-01-01&end_date=2024-01-02&metrics=rotor_speed", ["query", "metrics", 0]],
    ["start_date=2024-01-01&end_date=2024-01-02&metrics=", ["query", "metrics", 0]],
    ["start_date=2024-01-01&end_date=2024-01-02&metrics=power'%3B DROP TABLE data%3B--", ["query", "metrics", 0]],
    ["start_date=2024-01-01&end_date=2024-01-02&format=xml", ["query", "format"]],
    ["start_date=2024-01-01&end_date=2024-01-02&turbine_id=WTG01&turbine_id=-x", ["query", "turbine_id", 1]],
    ["start_date=2024-01-01&end_date=2024-01-02&turbine_id=", ["query", "turbine_id", 0]],
    [`start_date=2024-01-01&end_date=2024-01-02&turbine_id=${"x".repeat(33)}`, ["query", "turbine_id", 0]]
  ])("%s: 422 naming %j", (text, loc) => {
    const result = query(text)
    expect(result._tag).toBe("Invalid")
    if (result._tag !== "Invalid") return
    expect(result.status).toBe(422)
    expect((result.detail as ReadonlyArray<Requests.ValidationIssue>).map((issue) => issue.loc)).toContainEqual(loc)
  })
})

describe("Requests bodies", () => {
  it("populate: start_date, days within bounds, an optional seed", () => {
    expect(Requests.populateInput({ start_date: "2024-01-01", days: 10 })).toEqual({
      _tag: "Valid",
      value: { start: Date.UTC(2024, 0, 1), days: 10, seed: 42, turbines: 1 }
    })
    expect(Requests.populateInput({ start_date: "2024-01-01", days: 100, turbines: 100 })).toMatchObject({
      _tag: "Valid",
      value: { days: 100, turbines: 100 }
    })
    for (const bad of [
      { start_date: "2024-01-01", days: 100_000 },
      { start_date: "2024-01-01", days: "ten" },
      { days: 1 },
      { start_date: "2024-01-01", days: 1, turbines: 1.5 },
      { start_date: "2024-01-01", days: 1, turbines: 1001 },
      { start_date: "2024-01-01", days: 101, turbines: 100 }
    ]) {
      const result = Requests.populateInput(bad)
      expect(result._tag === "Invalid" && result.status).toBe(422)
    }
    expect(Requests.populateInput([1, 2])._tag).toBe("Invalid")
  })

  it("sensor: a timestamp and numbers or nulls; a wrong type names the field", () => {
    expect(Requests.sensorInput({ timestamp: "2024-01-01T00:00:00", power: 1.5 })).toEqual({
      _tag: "Valid",
      value: {
        t: Date.UTC(2024, 0, 1),
        values: { wind_speed: null, power: 1.5, ambient_temperature: null },
        turbineId: undefined
      }
    })
    expect(Requests.sensorInput({ timestamp: "2024-01-01", turbine_id: "WTG07" })).toMatchObject({
      _tag: "Valid",
      value: { turbineId: "WTG07" }
    })
    for (const turbine_id of [7, "WTG 07", ""]) {
      const wrong = Requests.sensorInput({ timestamp: "2024-01-01", turbine_id })
      expect(wrong._tag === "Invalid" && (wrong.detail as ReadonlyArray<Requests.ValidationIssue>)[0]!.loc).toEqual([
        "body",
        "turbine_id"
      ])
    }
    const result = Requests.sensorInput({ timestamp: "2024-01-01T00:00:00", power: "high" })
    expect(result._tag === "Invalid" && result.detail).toEqual([
      { type: "float_type", loc: ["body", "power"], msg: "Input should be a valid number", input: "high" }
    ])
  })

  it("malformed JSON is a 422 on the body", () => {
    const result = Requests.jsonBody("{not json")
    expect(result._tag === "Invalid" && result.status).toBe(422)
  })
})

describe("Requests: hostile input", () => {
  const issues = (result: Requests.Parsed<unknown>) =>
    result._tag === "Invalid" ? (result.detail as ReadonlyArray<Requests.ValidationIssue>) : []

  it("a 422 echoes a bounded excerpt of the input, however deep or long", () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(Requests.excerpt(deep)).toEqual([["…"]])
    expect(Requests.excerpt("x".repeat(1000))).toBe(`${"x".repeat(80)}…`)
    expect(Requests.excerpt(Array.from({ length: 1000 }, (_, i) => i))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, "…"])
    expect(Requests.excerpt({ a: { b: { c: 1 } }, s: "short" })).toEqual({ a: { b: "…" }, s: "short" })
    const wide = Requests.excerpt(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])))
    expect(Object.keys(wide as object)).toHaveLength(9)
    // A "__proto__" key is echoed as a key, not made a prototype.
    const proto = Requests.excerpt(JSON.parse('{"__proto__":{"polluted":1}}')) as Record<string, unknown>
    expect(Object.keys(proto)).toEqual(["__proto__"])
    expect(JSON.stringify(issues(Requests.sensorInput(deep))).length).toBeLessThan(300)
    expect(issues(Requests.populateInput({ start_date: deep, days: 1 }))[0]?.input).toEqual([["…"]])
  })

  it("years 0000 to 0099 are read exactly; a stored instant must lie in 0000 to 9999", () => {
    const sensor = Requests.sensorInput({ timestamp: "0024-03-05T10:00:00" })
    expect(sensor._tag === "Valid" && sensor.value.t).toBe(Date.parse("0024-03-05T10:00:00Z"))
    const populate = Requests.populateInput({ start_date: "0000-01-01", days: 366 })
    expect(populate._tag === "Valid" && populate.value.start).toBe(Date.parse("0000-01-01T00:00:00Z"))
    for (const timestamp of ["+010000-01-01", "-000001-12-31T23:59:59.999", "0000-01-01T00:30:00+01:00"]) {
      expect(issues(Requests.sensorInput({ timestamp })).map((issue) => issue.loc)).toEqual([["body", "timestamp"]])
    }
    expect(Requests.sensorInput({ timestamp: "9999-12-31T23:59:59.999" })._tag).toBe("Valid")
  })

  it("populate ends by 9999-12-31: past it names days, or start_date when not a day is left", () => {
    expect(Requests.populateInput({ start_date: "9999-12-31", days: 1 })._tag).toBe("Valid")
    const past = issues(Requests.populateInput({ start_date: "9999-12-01", days: 32 }))
    expect(past.map((issue) => issue.loc)).toEqual([["body", "days"]])
    expect(past[0]!.msg).toBe("Input should end by 9999-12-31: at most 31 days from start_date")
    const late = issues(Requests.populateInput({ start_date: "9999-12-31T00:01:00", days: 1 }))
    expect(late.map((issue) => issue.loc)).toEqual([["body", "start_date"]])
  })

  it("query bounds may lie beyond 0000 to 9999; the range is cut to what can be stored", () => {
    const wide = query("start_date=-100000-01-01&end_date=%2B100000-01-01")
    expect(wide._tag === "Valid" && [wide.value.start, wide.value.end]).toEqual([
      Requests.storable.start,
      Requests.storable.end - 1
    ])
    expect(query("start_date=%2B100000-01-02&end_date=%2B100000-01-01")._tag).toBe("Invalid")
  })
})
