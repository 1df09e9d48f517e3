import { once } from "node:events"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { TestDatabase } from "@delfos/test-utils"
import { Effect } from "effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as FonteClient from "../src/FonteClient.ts"
import * as Server from "../src/Server.ts"

let database: TestDatabase.Handle
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

const populate = (baseUrl: string, options: FonteClient.PopulateOptions) =>
  Effect.runPromise(FonteClient.populate(baseUrl, options).pipe(Effect.provide(FetchHttpClient.layer), Effect.result))

describe("FonteClient.populate", () => {
  it("seeds through the API and returns the server's answer, from the root or the API URL", async () => {
    const answer = await populate(server.url, { startDate: "2024-01-01", days: 1 })
    expect(answer._tag === "Success" && answer.success).toEqual({
      message: "Database populated with 1440 records",
      details: { total_records: 1440, start: "2024-01-01T00:00:00", end: "2024-01-02T00:00:00" }
    })
    const again = await FonteClient.populatePromise(`${server.url}/api/v1/`, { startDate: "2024-01-01", days: 1 })
    expect(again.details.total_records).toBe(1440)
    const seeded = await FonteClient.populatePromise(server.url, { startDate: "2024-01-02", days: 1, seed: 7 })
    expect(seeded.details.start).toBe("2024-01-02T00:00:00")
  })

  it("a refusal is a PopulateFailed with the status and the server's words", async () => {
    const refused = await populate(server.url, { startDate: "9999-12-31", days: 2 })
    expect(refused._tag).toBe("Failure")
    if (refused._tag !== "Failure") return
    expect(refused.failure._tag).toBe("PopulateFailed")
    expect(refused.failure.status).toBe(422)
    expect(refused.failure.message).toContain(`fonte at ${server.url} answered 422:`)
    expect(refused.failure.message).toContain("Input should end by 9999-12-31")
    await expect(FonteClient.populatePromise(server.url, { startDate: "2024-02-30", days: 1 })).rejects.toMatchObject({
      _tag: "PopulateFailed",
      status: 422
    })
  })

  it("an unreachable server, or one that answers something else, is a PopulateFailed that says so", async () => {
    const closed = createServer()
    closed.listen(0, "127.0.0.1")
    await once(closed, "listening")
    const port = (closed.address() as AddressInfo).port
    closed.close()
    const unreachable = await populate(`http://127.0.0.1:${port}`, { startDate: "2024-01-01", days: 1 })
    expect(unreachable._tag === "Failure" && unreachable.failure.message).toBe(
      `fonte unreachable at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`
    )
    expect(unreachable._tag === "Failure" && unreachable.failure.status).toBeUndefined()

    const odd = createServer((_, response) => {
      response.writeHead(201, { "content-type": "application/json" })
      response.end('{"ok":true}')
    })
    odd.listen(0, "127.0.0.1")
    await once(odd, "listening")
    try {
      const url = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`
      const answer = await populate(url, { startDate: "2024-01-01", days: 1 })
      expect(answer._tag === "Failure" && answer.failure.message).toBe(
        `fonte at ${url} answered 201 with an unexpected body: {"ok":true}`
      )
    } finally {
      odd.close()
    }
  })

  it("seeds a farm larger than one request may take in several requests, by days, answered as one", async () => {
    const bodies: Array<{ start_date: string; days: number; turbines?: number }> = []
    const fake = createServer((request, response) => {
      let text = ""
      request.on("data", (chunk: Buffer) => {
        text += chunk.toString()
      })
      request.on("end", () => {
        const body = JSON.parse(text) as { start_date: string; days: number; turbines?: number }
        bodies.push(body)
        const start = Date.parse(`${body.start_date.slice(0, 10)}T00:00:00Z`)
        const end = new Date(start + body.days * 86_400_000).toISOString().slice(0, 19)
        response.writeHead(201, { "content-type": "application/json" })
        response.end(
          JSON.stringify({
            message: "ok",
            details: { total_records: body.days * (body.turbines ?? 1), start: body.start_date, end }
          })
        )
      })
    })
    fake.listen(0, "127.0.0.1")
    await once(fake, "listening")
    try {
      const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`
      const answer = await FonteClient.populatePromise(url, { startDate: "2024-01-01", days: 400, turbines: 100 })
      expect(bodies).toEqual([
        { start_date: "2024-01-01T00:00:00", days: 100, turbines: 100 },
        { start_date: "2024-04-10T00:00:00", days: 100, turbines: 100 },
        { start_date: "2024-07-19T00:00:00", days: 100, turbines: 100 },
        { start_date: "2024-10-27T00:00:00", days: 100, turbines: 100 }
      ])
      expect(answer).toEqual({
        message: "Database populated with 40000 records",
        details: { total_records: 40_000, start: "2024-01-01T00:00:00", end: "2025-02-04T00:00:00" }
      })
      // One turbine, or what one request may take, goes as asked (the server refuses more than 366 days).
      bodies.length = 0
      await FonteClient.populatePromise(url, { startDate: "2024-01-01", days: 400 })
      expect(bodies).toEqual([{ start_date: "2024-01-01", days: 400 }])
    } finally {
      fake.close()
    }
  })
})
