import { TestDatabase } from "@delfos/test-utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
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
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

interface Row {
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

const countDay = async (day: string) => (await rows(`start_date=${day}T00:00:00&end_date=${day}T23:59:59`)).length

describe("fonte server", () => {
  it("GET /health", async () => {
    const response = await get("/health")
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: "ok" })
  })

  it("populate_database seeds a day: 201 and the reference's answer", async () => {
    const response = await post("/api/v1/sensors/populate_database", { start_date: "2024-01-01", days: 1 })
    expect(response.status).toBe(201)
    expect(await response.json()).toEqual({
      message: "Database populated with 1440 records",
      details: { total_records: 1440, start: "2024-01-01T00:00:00", end: "2024-01-02T00:00:00" }
    })
    expect(await countDay("2024-01-01")).toBe(1440)
  })

  it("seeding the same day twice (either route) does not double it", async () => {
    const before = await rows("start_date=2024-01-01&end_date=2024-01-01T23:59:59")
    expect((await post("/api/seed", { start_date: "2024-01-01", days: 1 })).status).toBe(201)
    expect((await post("/api/v1/sensors/populate_database", { start_date: "2024-01-01", days: 1 })).status).toBe(201)
    expect(await rows("start_date=2024-01-01&end_date=2024-01-01T23:59:59")).toEqual(before)
  })

  it("a different seed changes the values, not the count", async () => {
    const before = await rows("start_date=2024-01-01&end_date=2024-01-01T00:30:00")
    await post("/api/seed", { start_date: "2024-01-01", days: 1, seed: 7 })
    const after = await rows("start_date=2024-01-01&end_date=2024-01-01T00:30:00")
    expect(after.length).toBe(before.length)
    expect(after).not.toEqual(before)
    await post("/api/seed", { start_date: "2024-01-01", days: 1 })
    expect(await rows("start_date=2024-01-01&end_date=2024-01-01T00:30:00")).toEqual(before)
  })

  it("GET /api/v1/sensors: ordered, inclusive ends, every key present, unselected metrics null, naive UTC", async () => {
    const text = await (
      await get(
        "/api/v1/sensors?start_date=2024-01-01T00:00:00&end_date=2024-01-01T00:03:00&metrics=wind_speed&metrics=power"
      )
    ).text()
    const body = JSON.parse(text) as Array<Row>
    expect(body.map((row) => row.timestamp)).toEqual([
      "2024-01-01T00:00:00",
      "2024-01-01T00:01:00",
      "2024-01-01T00:02:00",
      "2024-01-01T00:03:00"
    ])
    for (const row of body) {
      expect(Object.keys(row)).toEqual(["timestamp", "wind_speed", "power", "ambient_temperature"])
      expect(row.ambient_temperature).toBeNull()
    }
    expect(text.startsWith('[{"timestamp":"2024-01-01T00:00:00","wind_speed":')).toBe(true)
    const comma = await rows("start_date=2024-01-01T00:00:00&end_date=2024-01-01T00:03:00&metrics=wind_speed,power")
    expect(comma).toEqual(body)
    const all = await rows("start_date=2024-01-01T00:00:00&end_date=2024-01-01T00:03:00")
    expect(all.some((row) => row.ambient_temperature !== null)).toBe(true)
    expect(all.map((row) => row.wind_speed)).toEqual(body.map((row) => row.wind_speed))
  })

  it("an empty range is an empty array", async () => {
    expect(await rows("start_date=1999-01-01&end_date=1999-01-02")).toEqual([])
  })

  it("400 for a reversed range, with a detail", async () => {
    const response = await get("/api/v1/sensors?start_date=2024-01-02&end_date=2024-01-01")
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({ detail: "start_date must be before or equal to end_date" })
  })

  it.each([
    ["start_date=2024-01-01&end_date=2024-01-02&metrics=rotor_speed", ["query", "metrics", 0]],
    ["start_date=2024-13-45&end_date=2024-01-02", ["query", "start_date"]],
    ["end_date=2024-01-02", ["query", "start_date"]],
    ["start_date=2024-01-01&end_date=2024-01-02&metrics=", ["query", "metrics", 0]],
    [
      "start_date=2024-01-01&end_date=2024-01-02&metrics=power%27%3B%20DROP%20TABLE%20data%3B--",
      ["query", "metrics", 0]
    ]
  ])("422 for %s, naming the field", async (query, loc) => {
    const response = await get(`/api/v1/sensors?${query}`)
    expect(response.status).toBe(422)
    const body = (await response.json()) as { detail: Array<{ loc: Array<string | number>; msg: string }> }
    expect(body.detail.map((issue) => issue.loc)).toContainEqual(loc)
    expect(await countDay("2024-01-01")).toBe(1440)
  })

  it("POST /api/v1/sensors stores a row (201) and updates the same timestamp instead of doubling it", async () => {
    const response = await post("/api/v1/sensors", { timestamp: "2023-06-01T12:00:00", wind_speed: 9.5, power: 2000 })
    expect(response.status).toBe(201)
    expect(await response.json()).toEqual({
      timestamp: "2023-06-01T12:00:00",
      wind_speed: 9.5,
      power: 2000,
      ambient_temperature: null
    })
    await post("/api/v1/sensors", {
      timestamp: "2023-06-01T12:00:00",
      wind_speed: 10,
      power: 2100,
      ambient_temperature: 21
    })
    expect(await rows("start_date=2023-06-01&end_date=2023-06-02")).toEqual([
      { timestamp: "2023-06-01T12:00:00", wind_speed: 10, power: 2100, ambient_temperature: 21 }
    ])
  })

  it.each([
    ["/api/v1/sensors", { timestamp: "2023-06-01T13:00:00", power: "high" }, ["body", "power"]],
    ["/api/v1/sensors", { power: 1 }, ["body", "timestamp"]],
    ["/api/v1/sensors", "{not json", ["body"]],
    ["/api/v1/sensors/populate_database", { start_date: "2030-01-01", days: 1_000_000 }, ["body", "days"]],
    ["/api/v1/sensors/populate_database", { start_date: "2030-01-01", days: "ten" }, ["body", "days"]],
    ["/api/seed", { start_date: "2030-02-30", days: 1 }, ["body", "start_date"]],
    ["/api/seed", [], ["body"]]
  ])("POST %s with bad input: 422 naming the field, nothing stored", async (path, body, loc) => {
    const response = await post(path, body)
    expect(response.status).toBe(422)
    const answer = (await response.json()) as { detail: Array<{ loc: Array<string | number> }> }
    expect(answer.detail.map((issue) => issue.loc)).toContainEqual(loc)
    expect(await rows("start_date=2023-06-01T13:00:00&end_date=2023-06-01T13:00:00")).toEqual([])
    expect(await rows("start_date=2030-01-01&end_date=2030-03-01")).toEqual([])
  })

  it("serves a 30-day range (43,200 rows) as one JSON array, and as NDJSON", async () => {
    await post("/api/seed", { start_date: "2024-02-01", days: 30 })
    const month = await rows("start_date=2024-02-01&end_date=2024-03-01T23:59:59")
    expect(month.length).toBe(43_200)
    const times = month.map((row) => Date.parse(`${row.timestamp}Z`))
    expect(times.every((t, i) => i === 0 || t - times[i - 1]! === 60_000)).toBe(true)
    const ndjson = await (
      await get("/api/v1/sensors?start_date=2024-02-01&end_date=2024-02-01T23:59:59&format=ndjson")
    ).text()
    const lines = ndjson
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as Row)
    expect(lines).toEqual(month.slice(0, 1440))
  })

  it("publishes /openapi.json and a docs page from the same definition", async () => {
    const spec = (await (await get("/openapi.json")).json()) as { paths: Record<string, unknown> }
    expect(Object.keys(spec.paths).sort()).toEqual(
      ["/api/seed", "/api/v1/sensors", "/api/v1/sensors/populate_database", "/health"].sort()
    )
    const docs = await get("/docs")
    expect(docs.status).toBe(200)
    expect(docs.headers.get("content-type")).toContain("text/html")
  })
})
