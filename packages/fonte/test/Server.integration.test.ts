import { type ClientRequest, request as httpRequest } from "node:http"
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
      ["/api/seed", "/api/v1/sensors", "/api/v1/sensors/populate_database", "/api/v1/turbines", "/health"].sort()
    )
    const docs = await get("/docs")
    expect(docs.status).toBe(200)
    expect(docs.headers.get("content-type")).toContain("text/html")
  })
})

describe("fonte server: years 0000 to 0099 and the last day, 9999-12-31", () => {
  it("stores and serves the year 24 exactly, not 1924", async () => {
    const response = await post("/api/v1/sensors", { timestamp: "0024-03-05T10:00:00", wind_speed: 7.5 })
    expect(response.status).toBe(201)
    expect(((await response.json()) as Row).timestamp).toBe("0024-03-05T10:00:00")
    expect(await rows("start_date=0024-03-05&end_date=0024-03-06")).toEqual([
      { timestamp: "0024-03-05T10:00:00", wind_speed: 7.5, power: null, ambient_temperature: null }
    ])
    expect(await rows("start_date=1924-03-05&end_date=1924-03-06")).toEqual([])
  })

  it("populates from 0000-01-01 (1 BC, Postgres' 0001-01-01 BC) exactly, not 1900", async () => {
    const response = await post("/api/v1/sensors/populate_database", { start_date: "0000-01-01", days: 1 })
    expect(response.status).toBe(201)
    expect(((await response.json()) as { details: unknown }).details).toEqual({
      total_records: 1440,
      start: "0000-01-01T00:00:00",
      end: "0000-01-02T00:00:00"
    })
    const day = await rows("start_date=0000-01-01&end_date=0000-01-01T23:59:59")
    expect(day.length).toBe(1440)
    expect(day[0]!.timestamp).toBe("0000-01-01T00:00:00")
    expect(day[1439]!.timestamp).toBe("0000-01-01T23:59:00")
    expect(await rows("start_date=1900-01-01&end_date=1900-01-02")).toEqual([])
  })

  it("populates 9999-12-31, the last day; a range past it is a 422 naming days", async () => {
    const last = await post("/api/v1/sensors/populate_database", { start_date: "9999-12-31", days: 1 })
    expect(last.status).toBe(201)
    expect(((await last.json()) as { details: { end: string } }).details.end).toBe("+010000-01-01T00:00:00")
    const past = await post("/api/seed", { start_date: "9999-12-30", days: 3 })
    expect(past.status).toBe(422)
    const answer = (await past.json()) as { detail: Array<{ loc: Array<string | number>; msg: string }> }
    expect(answer.detail.map((issue) => issue.loc)).toEqual([["body", "days"]])
    expect(answer.detail[0]!.msg).toContain("9999-12-31")
    // What HttpSource asks for the partition 9999-12-31: its end, 10000-01-01, inclusive.
    const day = await rows("start_date=9999-12-31T00:00:00&end_date=%2B010000-01-01T00:00:00")
    expect(day.length).toBe(1440)
    expect(day[1439]!.timestamp).toBe("9999-12-31T23:59:00")
  })

  it("a sample timestamp outside 0000 to 9999 is a 422 naming it; query bounds beyond are fine", async () => {
    for (const timestamp of ["+010000-01-01T00:00:00", "9999-12-31T23:30:00-01:00", "-000001-12-31T00:00:00"]) {
      const response = await post("/api/v1/sensors", { timestamp, power: 1 })
      expect(response.status).toBe(422)
      const answer = (await response.json()) as { detail: Array<{ loc: Array<string | number> }> }
      expect(answer.detail.map((issue) => issue.loc)).toEqual([["body", "timestamp"]])
    }
    expect(await rows("start_date=-100000-01-01&end_date=-000001-01-01")).toEqual([])
    expect(await rows("start_date=%2B100000-01-01&end_date=%2B200000-01-01")).toEqual([])
    const precise = await post("/api/v1/sensors", { timestamp: "9999-12-31T23:59:59.999", power: 2 })
    expect(precise.status).toBe(201)
    expect(await rows("start_date=9999-12-31T23:59:59.999&end_date=%2B100000-01-01")).toEqual([
      { timestamp: "9999-12-31T23:59:59.999", wind_speed: null, power: 2, ambient_temperature: null }
    ])
  })
})

/** A request with a body written by `write`, read raw: fetch cannot send a body that lies about its length. */
const rawPost = (
  url: string,
  path: string,
  headers: Record<string, string | number>,
  write: (request: ClientRequest) => void
) =>
  new Promise<{ status: number; body: string; sent: () => number }>((resolve, reject) => {
    let sent = 0
    const request = httpRequest(`${url}${path}`, { method: "POST", headers })
    const write_ = request.write.bind(request)
    request.write = ((chunk: Buffer, ...rest: Array<never>) => {
      sent += chunk.length
      return write_(chunk, ...rest)
    }) as typeof request.write
    request.on("response", (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => {
        body += chunk
      })
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, sent: () => sent }))
    })
    // The server may close once it has answered; what matters is the answer.
    request.on("error", (error) => (request.writableEnded ? undefined : reject(error)))
    write(request)
  })

describe("fonte server: request bodies are bounded (413)", () => {
  const mib = 1024 * 1024

  it("a body over the default limit (1 MiB) is a 413 with a detail; the server stays healthy", async () => {
    const huge = JSON.stringify({ timestamp: "2023-06-01T14:00:00", padding: "x".repeat(2 * mib) })
    const response = await post("/api/v1/sensors", huge)
    expect(response.status).toBe(413)
    const answer = (await response.json()) as { detail: string }
    expect(answer.detail).toMatch(/request body is larger than 1048576 bytes/)
    for (const path of ["/api/v1/sensors/populate_database", "/api/seed"]) {
      expect((await post(path, `{"start_date":"2030-01-01","days":1,"x":"${"y".repeat(mib)}"}`)).status).toBe(413)
    }
    expect((await get("/health")).status).toBe(200)
    expect(await rows("start_date=2023-06-01T14:00:00&end_date=2023-06-01T14:00:00")).toEqual([])
    expect(await rows("start_date=2030-01-01&end_date=2030-03-01")).toEqual([])
  })

  it("a Content-Length over the limit is answered at once, before the body is sent", async () => {
    const answer = await rawPost(
      server.url,
      "/api/v1/sensors",
      { "content-type": "application/json", "content-length": 200 * mib },
      (request) => {
        // Only the start of the body: the answer must not wait for the other 200 MB.
        request.write(Buffer.from('{"timestamp":'))
      }
    )
    expect(answer.status).toBe(413)
    expect(JSON.parse(answer.body)).toEqual({ detail: expect.stringContaining("larger than 1048576 bytes") })
    expect((await get("/health")).status).toBe(200)
  })

  it("a chunked body stops being read once over the limit", async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let stop = false
    const answer = await rawPost(
      server.url,
      "/api/v1/sensors",
      { "content-type": "application/json", "transfer-encoding": "chunked" },
      (request) => {
        request.on("response", () => {
          stop = true
        })
        // Up to 256 MiB, as fast as the server reads it, until it answers.
        let written = 0
        const pump = () => {
          while (!stop && written < 256 * mib) {
            written += chunk.length
            if (!request.write(chunk)) return void request.once("drain", pump)
          }
          if (!stop) request.end()
        }
        pump()
      }
    )
    expect(answer.status).toBe(413)
    expect(JSON.parse(answer.body)).toEqual({ detail: expect.stringContaining("larger than 1048576 bytes") })
    // The limit, what the server drains before it closes, and what sockets buffer: far from 256 MiB.
    expect(answer.sent()).toBeLessThan(16 * mib)
    expect((await get("/health")).status).toBe(200)
  })

  it("the limit is configurable", async () => {
    const small = await Server.createFonteServer({
      port: 0,
      databaseUrl: database.url,
      maxConnections: database.maxConnections,
      maxBodyBytes: 100
    })
    try {
      const send = (body: unknown) =>
        fetch(`${small.url}/api/v1/sensors`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body)
        })
      expect((await send({ timestamp: "2023-06-01T15:00:00", power: 1 })).status).toBe(201)
      const over = await send({ timestamp: "2023-06-01T15:00:00", power: 1, note: "x".repeat(100) })
      expect(over.status).toBe(413)
      expect(await over.json()).toEqual({ detail: "request body is larger than 100 bytes" })
    } finally {
      await small.close()
    }
  })
})

describe("fonte server: deep nesting is a 422 that echoes an excerpt, never a 500", () => {
  const depth = 100_000
  const nested = "[".repeat(depth) + "]".repeat(depth)

  it.each([
    ["/api/v1/sensors", "arrays as the body", nested, ["body"]],
    ["/api/v1/sensors/populate_database", "arrays as the body", nested, ["body"]],
    ["/api/seed", "arrays as the body", nested, ["body"]],
    [
      "/api/v1/sensors",
      "arrays as a value",
      `{"timestamp":"2023-06-01T16:00:00","power":${nested}}`,
      ["body", "power"]
    ],
    [
      "/api/v1/sensors/populate_database",
      "arrays as a value",
      `{"start_date":${nested},"days":1}`,
      ["body", "start_date"]
    ],
    [
      "/api/seed",
      "objects as a value",
      `{"start_date":"2030-01-01","days":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`,
      ["body", "days"]
    ]
  ])("POST %s, %s 100,000 levels deep: 422 naming the field, a short answer", async (path, _, body, loc) => {
    const response = await post(path, body)
    expect(response.status).toBe(422)
    const text = await response.text()
    expect(text.length).toBeLessThan(2_000)
    const answer = JSON.parse(text) as { detail: Array<{ loc: Array<string | number> }> }
    expect(answer.detail.map((issue) => issue.loc)).toContainEqual(loc)
    expect((await get("/health")).status).toBe(200)
    expect(await rows("start_date=2023-06-01T16:00:00&end_date=2023-06-01T16:00:00")).toEqual([])
    expect(await rows("start_date=2030-01-01&end_date=2030-03-01")).toEqual([])
  })
})
