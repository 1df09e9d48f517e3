import { createHash } from "node:crypto"
import { TestDatabase } from "@delfos/test-utils"
import { Effect } from "effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as FonteClient from "../src/FonteClient.ts"
import * as Generator from "../src/Generator.ts"
import * as Server from "../src/Server.ts"

let database: Awaited<ReturnType<typeof TestDatabase.acquire>>
let server: Server.FonteServer

beforeAll(async () => {
  database = await TestDatabase.acquire()
  server = await Server.createFonteServer({
    port: 0,
    databaseUrl: database.url,
    maxConnections: database.maxConnections
  })
}, 60_000)

afterAll(async () => {
  await server?.close()
  await database?.release()
})

const get = (path: string) => fetch(`${server.url}${path}`)
const post = (path: string, body: unknown) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  })

interface Row {
  turbine_id?: string
  timestamp: string
  wind_speed: number | null
  power: number | null
  ambient_temperature: number | null
}

const rows = async (query: string): Promise<Array<Row>> => {
  const response = await get(`/api/v1/sensors?${query}`)
  expect(response.status).toBe(200)
  return (await response.json()) as Array<Row>
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")
const day = 86_400_000
const start = Date.UTC(2024, 0, 1)

describe("the fonte serves a farm", () => {
  it("seeds 10 turbines (201, every sample the generator made) and lists them", async () => {
    const response = await post("/api/v1/sensors/populate_database", {
      start_date: "2024-01-01",
      days: 2,
      turbines: 10
    })
    expect(response.status).toBe(201)
    const farm = Generator.farm(42)
    let expected = 0
    for (let n = 1; n <= 10; n++) for (let d = 0; d < 2; d++) expected += farm.turbineDay(n, start + d * day).length
    expect(await response.json()).toEqual({
      message: `Database populated with ${expected} records`,
      details: { total_records: expected, start: "2024-01-01T00:00:00", end: "2024-01-03T00:00:00" }
    })
    const turbines = await (await get("/api/v1/turbines")).json()
    expect(turbines).toEqual(
      Generator.turbines(10).map((turbine) => ({
        turbine_id: turbine.turbineId,
        rated_power: 5000,
        x: turbine.x,
        y: turbine.y
      }))
    )
  })

  it("answers the reference's client exactly as before for the default turbine", async () => {
    // The bytes the single-turbine fonte answered for seed 42, 2024-01-01 to 2024-01-02T00:00:00
    // (1,441 rows), as JSON and as NDJSON of power: the farm around WTG01 changes nothing.
    const json = await (await get("/api/v1/sensors?start_date=2024-01-01&end_date=2024-01-02T00:00:00")).text()
    expect(json.length).toBe(140_729)
    expect(sha256(json)).toBe("244305aa0967e4b19701f948bdb998fce5845c556a291aba59739c22ca2c3693")
    const ndjson = await (
      await get("/api/v1/sensors?start_date=2024-01-01&end_date=2024-01-02T00:00:00&format=ndjson&metrics=power")
    ).text()
    expect(sha256(ndjson)).toBe("e4b2b3d0cae927d9f37e40afcffe30423622c360df11274363eed3d53b1ac779")
    expect(Object.keys((JSON.parse(json) as Array<Row>)[0]!)).toEqual([
      "timestamp",
      "wind_speed",
      "power",
      "ambient_temperature"
    ])
  })

  it("serves turbines by turbine_id, repeated or comma-separated: rows carry turbine_id, turbine by turbine in the order asked, each in time order", async () => {
    const answer = await rows(
      "start_date=2024-01-01&end_date=2024-01-02T00:00:00&turbine_id=WTG07&turbine_id=WTG02,WTG07"
    )
    const farm = Generator.farm(42)
    const expected = (n: number) => {
      const frames = [farm.turbineDay(n, start), farm.turbineDay(n, start + day)]
      const out: Array<Row> = []
      for (const frame of frames) {
        for (let i = 0; i < frame.length; i++) {
          if (frame.timestamps[i]! > start + day) break
          const value = (name: string) => (Number.isNaN(frame.columns[name]![i]!) ? null : frame.columns[name]![i]!)
          out.push({
            turbine_id: Generator.turbineId(n),
            timestamp: new Date(frame.timestamps[i]!).toISOString().slice(0, 19),
            wind_speed: value("wind_speed"),
            power: value("power"),
            ambient_temperature: value("ambient_temperature")
          })
        }
      }
      return out
    }
    expect(answer).toEqual([...expected(7), ...expected(2)])
    expect(Object.keys(answer[0]!)).toEqual(["turbine_id", "timestamp", "wind_speed", "power", "ambient_temperature"])
    // Naming the default turbine gives its rows, now with turbine_id.
    const wtg01 = await rows("start_date=2024-01-01T00:00:00&end_date=2024-01-01T00:02:00&turbine_id=WTG01")
    const plain = await rows("start_date=2024-01-01T00:00:00&end_date=2024-01-01T00:02:00")
    expect(wtg01).toEqual(plain.map((row) => ({ turbine_id: "WTG01", ...row })))
  })

  it("cuts the farm's answer into runs, one per turbine, a client can split on turbine_id", async () => {
    const ids = Generator.turbines(10).map((turbine) => turbine.turbineId)
    const answer = await rows(`start_date=2024-01-01&end_date=2024-01-01T23:59:59&turbine_id=${ids.join(",")}`)
    const runs: Array<string> = []
    for (const row of answer) if (runs[runs.length - 1] !== row.turbine_id) runs.push(row.turbine_id!)
    expect(runs).toEqual(ids)
    const faults = Generator.faults({ seed: 42, turbines: 10, start, days: 1 })
    const downtime = faults
      .filter((fault) => fault.kind === "downtime")
      .reduce((a, f) => a + (f.to - f.from) / 60_000, 0)
    expect(answer.length).toBe(10 * 1440 - downtime)
  })

  it("a turbine the farm lacks is a 422 naming turbine_id; so is a malformed one", async () => {
    for (const [query, index, input] of [
      ["turbine_id=WTG01&turbine_id=WTG99", 1, "WTG99"],
      ["turbine_id=WTG01,nope", 0, "nope"],
      ["turbine_id=bad%20name", 0, "bad name"],
      ["turbine_id=", 0, ""]
    ] as const) {
      const response = await get(`/api/v1/sensors?start_date=2024-01-01&end_date=2024-01-02&${query}`)
      expect(response.status).toBe(422)
      const body = (await response.json()) as { detail: Array<{ loc: Array<string | number>; input: unknown }> }
      expect(body.detail).toEqual([expect.objectContaining({ loc: ["query", "turbine_id", index], input })])
    }
  })

  it("streams several turbines past a page each, as JSON and as NDJSON alike", async () => {
    await post("/api/seed", { start_date: "2024-03-01", days: 8, turbines: 3, seed: 5 })
    const query = "start_date=2024-03-01&end_date=2024-03-08T23:59:59&turbine_id=WTG03,WTG01"
    const json = await rows(query)
    const ndjson = (await (await get(`/api/v1/sensors?${query}&format=ndjson`)).text())
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as Row)
    expect(ndjson).toEqual(json)
    const farm = Generator.farm(5)
    let wtg03 = 0
    for (let d = 0; d < 8; d++) wtg03 += farm.turbineDay(3, Date.UTC(2024, 2, 1) + d * day).length
    expect(json.filter((row) => row.turbine_id === "WTG03").length).toBe(wtg03)
    expect(json.filter((row) => row.turbine_id === "WTG01").length).toBe(8 * 1440)
    expect(json.findIndex((row) => row.turbine_id === "WTG01")).toBe(wtg03)
    const times = json.slice(0, wtg03).map((row) => Date.parse(`${row.timestamp}Z`))
    expect(times.every((t, i) => i === 0 || t > times[i - 1]!)).toBe(true)
  })

  it("format=columns: a line per page of one turbine, epoch milliseconds and the metrics asked, the same samples", async () => {
    const query = "start_date=2024-03-01&end_date=2024-03-08T23:59:59&turbine_id=WTG03,WTG01"
    const json = await rows(`${query}&metrics=power,wind_speed`)
    const response = await get(`/api/v1/sensors?${query}&metrics=power,wind_speed&format=columns`)
    expect(response.status).toBe(200)
    const lines = (await response.text())
      .trimEnd()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line) as {
            turbine_id: string
            timestamp_ms: Array<number>
            wind_speed: Array<number | null>
            power: Array<number | null>
          }
      )
    // WTG03's 8 days (past a page of 10,000 rows: two lines), then WTG01's.
    expect(lines.map((line) => line.turbine_id)).toEqual(["WTG03", "WTG03", "WTG01", "WTG01"])
    expect(Object.keys(lines[0]!)).toEqual(["turbine_id", "timestamp_ms", "wind_speed", "power"])
    const asRows = lines.flatMap((line) =>
      line.timestamp_ms.map((t, i) => ({
        turbine_id: line.turbine_id,
        timestamp: new Date(t).toISOString().slice(0, 19),
        wind_speed: line.wind_speed[i],
        power: line.power[i],
        ambient_temperature: null
      }))
    )
    expect(asRows).toEqual(json)
  })

  it("POST /api/v1/sensors takes a turbine_id, adding a new turbine; without one the row is the default's", async () => {
    const response = await post("/api/v1/sensors", {
      timestamp: "2022-05-01T10:00:00",
      power: 1234.5,
      turbine_id: "MET-MAST.1"
    })
    expect(response.status).toBe(201)
    expect(await response.json()).toEqual({
      turbine_id: "MET-MAST.1",
      timestamp: "2022-05-01T10:00:00",
      wind_speed: null,
      power: 1234.5,
      ambient_temperature: null
    })
    const turbines = (await (await get("/api/v1/turbines")).json()) as Array<{ turbine_id: string }>
    expect(turbines.at(-1)).toEqual({ turbine_id: "MET-MAST.1", rated_power: null, x: null, y: null })
    expect(await rows("start_date=2022-05-01&end_date=2022-05-02&turbine_id=MET-MAST.1")).toHaveLength(1)
    expect(await rows("start_date=2022-05-01&end_date=2022-05-02")).toEqual([])
    const bad = await post("/api/v1/sensors", { timestamp: "2022-05-01T10:00:00", power: 1, turbine_id: "../etc" })
    expect(bad.status).toBe(422)
    expect(((await bad.json()) as { detail: Array<{ loc: unknown }> }).detail.map((issue) => issue.loc)).toEqual([
      ["body", "turbine_id"]
    ])
  })

  it.each([
    [{ start_date: "2030-01-01", days: 1, turbines: 0 }],
    [{ start_date: "2030-01-01", days: 1, turbines: 1001 }],
    [{ start_date: "2030-01-01", days: 1, turbines: "ten" }],
    [{ start_date: "2030-01-01", days: 101, turbines: 100 }]
  ])("populate refuses %j: 422 naming turbines, nothing stored", async (body) => {
    const response = await post("/api/v1/sensors/populate_database", body)
    expect(response.status).toBe(422)
    const answer = (await response.json()) as { detail: Array<{ loc: Array<string | number> }> }
    expect(answer.detail.map((issue) => issue.loc)).toEqual([["body", "turbines"]])
    expect(await rows("start_date=2030-01-01&end_date=2031-01-01")).toEqual([])
  })

  it("FonteClient seeds a farm and lists its turbines", async () => {
    const answer = await FonteClient.populatePromise(server.url, {
      startDate: "2025-01-01",
      days: 3,
      turbines: 12,
      seed: 9
    })
    const farm = Generator.farm(9)
    let expected = 0
    for (let n = 1; n <= 12; n++)
      for (let d = 0; d < 3; d++) expected += farm.turbineDay(n, Date.UTC(2025, 0, 1) + d * day).length
    expect(answer.details).toEqual({
      total_records: expected,
      start: "2025-01-01T00:00:00",
      end: "2025-01-04T00:00:00"
    })
    const listed = await Effect.runPromise(FonteClient.turbines(server.url).pipe(Effect.provide(FetchHttpClient.layer)))
    // In the order they were added: WTG01 to WTG10 first, WTG11 and WTG12 after the turbine posted above.
    const names = listed.map((turbine) => turbine.turbine_id)
    expect(names.filter((name) => name.startsWith("WTG"))).toEqual(Generator.turbines(12).map((t) => t.turbineId))
    expect(names.indexOf("WTG11")).toBeGreaterThan(names.indexOf("MET-MAST.1"))
  })

  it("documents the farm in /openapi.json", async () => {
    const spec = (await (await get("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { parameters?: Array<{ name: string }> }>>
    }
    expect(Object.keys(spec.paths)).toContain("/api/v1/turbines")
    expect(spec.paths["/api/v1/sensors"]!.get!.parameters!.map((p) => p.name)).toContain("turbine_id")
    expect(JSON.stringify(spec)).toContain("turbines")
  })
})
