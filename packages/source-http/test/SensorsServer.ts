/**
 * A small real HTTP server for the tests: the fonte `/api/v1/sensors` contract over rows in memory
 * (both ends inclusive, unselected metrics `null`), and room for faults a test injects.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Timestamp } from "@delfos/etl"
import { Effect, type Scope } from "effect"

export const metrics = ["wind_speed", "power", "ambient_temperature"] as const

/** A row as the API sends it: naive UTC timestamp, every metric present, `null` when missing. */
export type SensorRow = {
  readonly timestamp: string
  readonly wind_speed: number | null
  readonly power: number | null
  readonly ambient_temperature: number | null
}

/**
 * Minute rows from `from` (inclusive) to `to` (exclusive), epoch ms, with 2-decimal values like the
 * reference's and a few `null`s (every 97th power, every 89th temperature).
 */
export const minuteRows = (from: number, to: number): Array<SensorRow> => {
  const rows: Array<SensorRow> = []
  for (let t = from, i = 0; t < to; t += 60_000, i++) {
    rows.push({
      timestamp: Timestamp.formatNaive(t),
      wind_speed: Math.round((8 + 3 * Math.sin(i / 37)) * 100) / 100,
      power: i % 97 === 0 ? null : Math.round((1500 + 900 * Math.cos(i / 53)) * 100) / 100,
      ambient_temperature: i % 89 === 0 ? null : Math.round((20 + 5 * Math.sin(i / 229)) * 100) / 100
    })
  }
  return rows
}

export type Handler = (request: IncomingMessage, response: ServerResponse, attempt: number) => void

export interface Served {
  /** The API root to give `HttpSource`, `http://127.0.0.1:<port>/api/v1`. */
  readonly baseUrl: string
  /** Every request's URL, in order of arrival. */
  readonly requests: Array<URL>
  /** When each request arrived, `performance.now()` milliseconds, in the same order. */
  readonly arrivals: Array<number>
}

/** Serves `handler` on a free port for the scope's lifetime; `attempt` counts requests from 1. */
export const serve = (handler: Handler): Effect.Effect<Served, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ served: Served; close: () => Promise<void> }>((resolve) => {
          const requests: Array<URL> = []
          const arrivals: Array<number> = []
          const server = createServer((request, response) => {
            arrivals.push(performance.now())
            requests.push(new URL(request.url ?? "/", "http://test"))
            handler(request, response, requests.length)
          })
          server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as AddressInfo
            resolve({
              served: { baseUrl: `http://127.0.0.1:${port}/api/v1`, requests, arrivals },
              close: () =>
                new Promise<void>((done) => {
                  // Hanging requests would keep the server open.
                  server.closeAllConnections()
                  server.close(() => done())
                })
            })
          })
        })
    ),
    ({ close }) => Effect.promise(close)
  ).pipe(Effect.map(({ served }) => served))

/**
 * A proxy in front of another server (`target` is its origin, e.g. `http://127.0.0.1:8000`): each
 * request is passed on with its path and query, and the answer's status, type and body come back
 * unchanged. Served through `serve`, it records what a client really asked.
 */
export const proxy =
  (target: string): Handler =>
  (request, response) => {
    fetch(new URL(request.url ?? "/", target)).then(
      async (answer) => {
        const body = Buffer.from(await answer.arrayBuffer())
        response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain" })
        response.end(body)
      },
      (error: unknown) => sendJson(response, 502, { detail: `proxy: ${String(error)}` })
    )
  }

/** A port nothing listens on: one the system just gave out and took back. */
export const closedPort: Effect.Effect<number> = Effect.promise(
  () =>
    new Promise<number>((resolve) => {
      const server = createServer()
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        server.close(() => resolve(port))
      })
    })
)

export const sendJson = (response: ServerResponse, status: number, body: unknown, headers = {}): void => {
  response.writeHead(status, { "content-type": "application/json", ...headers })
  response.end(typeof body === "string" ? body : JSON.stringify(body))
}

/** The fonte contract: `start_date` to `end_date`, both inclusive, the asked `metrics` (all when none). */
export const sensors =
  (rows: ReadonlyArray<SensorRow>): Handler =>
  (request, response) => {
    const url = new URL(request.url ?? "/", "http://test")
    if (url.pathname !== "/api/v1/sensors") return sendJson(response, 404, { detail: "Not Found" })
    const start = Timestamp.parse(url.searchParams.get("start_date") ?? "")
    const end = Timestamp.parse(url.searchParams.get("end_date") ?? "")
    if (Number.isNaN(start) || Number.isNaN(end)) {
      return sendJson(response, 422, {
        detail: [
          { type: "datetime_from_date_parsing", loc: ["query", "start_date"], msg: "Input should be a valid datetime" }
        ]
      })
    }
    if (start > end) return sendJson(response, 400, { detail: "start_date must be before end_date" })
    const asked = url.searchParams.getAll("metrics")
    const selected = asked.length === 0 ? metrics : metrics.filter((metric) => asked.includes(metric))
    const answer = rows
      .filter((row) => {
        const t = Timestamp.parse(row.timestamp)
        return t >= start && t <= end
      })
      .map((row) => ({
        timestamp: row.timestamp,
        wind_speed: selected.includes("wind_speed") ? row.wind_speed : null,
        power: selected.includes("power") ? row.power : null,
        ambient_temperature: selected.includes("ambient_temperature") ? row.ambient_temperature : null
      }))
    sendJson(response, 200, answer)
  }
