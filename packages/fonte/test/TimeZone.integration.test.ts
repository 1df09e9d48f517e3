/**
 * The fonte on a database whose TimeZone is not UTC: what is seeded and served keeps its UTC
 * instants, and the stored values are at those instants for any reader.
 */
import { TestDatabase } from "@delfos/test-utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Server } from "../src/index.ts"

const zone = "America/Sao_Paulo"
let database: TestDatabase.Handle
let server: Server.FonteServer

beforeAll(async () => {
  database = await TestDatabase.acquire()
  const name = decodeURIComponent(new URL(database.url).pathname.slice(1))
  await TestDatabase.query(database.url, `ALTER DATABASE "${name}" SET timezone TO '${zone}'`)
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

describe(`the fonte on a database whose TimeZone is ${zone}`, () => {
  it("serves a seeded day from 00:00 to 23:59 UTC, and a posted sample at its instant", async () => {
    const seeded = await fetch(`${server.url}/api/seed`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ start_date: "2024-01-01", days: 1 })
    })
    expect(seeded.status).toBe(201)
    const posted = await fetch(`${server.url}/api/v1/sensors`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ timestamp: "2024-01-02T00:00:00", wind_speed: 1.5 })
    })
    expect(posted.status).toBe(201)
    const response = await fetch(
      `${server.url}/api/v1/sensors?start_date=2024-01-01T00:00:00&end_date=2024-01-02T00:00:00&metrics=wind_speed`
    )
    const rows = (await response.json()) as Array<{ timestamp: string; wind_speed: number | null }>
    expect(rows).toHaveLength(1441)
    expect(rows[0]!.timestamp).toBe("2024-01-01T00:00:00")
    expect(rows[1439]!.timestamp).toBe("2024-01-01T23:59:00")
    expect(rows[1440]).toEqual({
      timestamp: "2024-01-02T00:00:00",
      wind_speed: 1.5,
      power: null,
      ambient_temperature: null
    })

    // Stored at the same instants, as any session reads them (here, one in the database's zone).
    const [stored] = await TestDatabase.query<{ first: number; count: number }>(
      database.url,
      `SELECT extract(epoch FROM min(timestamp))::float8 AS first, count(*)::int AS count FROM data`
    )
    expect(stored).toEqual({ first: Date.parse("2024-01-01T00:00:00Z") / 1000, count: 1441 })
  })
})
