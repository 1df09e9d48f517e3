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
        format: "json"
      }
    })
    const comma = query("start_date=2024-01-01T00:00:00&end_date=2024-01-01T00:00:00&metrics=power,ambient_temperature")
    expect(comma._tag === "Valid" && comma.value.metrics).toEqual(["power", "ambient_temperature"])
    const all = query("start_date=2024-01-01&end_date=2024-01-02")
    expect(all._tag === "Valid" && all.value.metrics).toEqual(["wind_speed", "power", "ambient_temperature"])
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
    ["start_date=2024-01-01&end_date=2024-01-02&format=xml", ["query", "format"]]
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
      value: { start: Date.UTC(2024, 0, 1), days: 10, seed: 42 }
    })
    for (const bad of [
      { start_date: "2024-01-01", days: 100_000 },
      { start_date: "2024-01-01", days: "ten" },
      { days: 1 }
    ]) {
      const result = Requests.populateInput(bad)
      expect(result._tag === "Invalid" && result.status).toBe(422)
    }
    expect(Requests.populateInput([1, 2])._tag).toBe("Invalid")
  })

  it("sensor: a timestamp and numbers or nulls; a wrong type names the field", () => {
    expect(Requests.sensorInput({ timestamp: "2024-01-01T00:00:00", power: 1.5 })).toEqual({
      _tag: "Valid",
      value: { t: Date.UTC(2024, 0, 1), values: { wind_speed: null, power: 1.5, ambient_temperature: null } }
    })
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
