import { MemorySink, MemorySource, Partition, Pipeline, SampleFrame, Signal, Source } from "@delfos/etl"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import * as HttpSource from "../src/HttpSource.ts"
import { closedPort, type Handler, minuteRows, type SensorRow, sendJson, sensors, serve } from "./SensorsServer.ts"

const day = Partition.makeUnsafe("2024-01-01")
const range = Partition.range(day)
// From an hour before the day to four hours after it (past the end of the day in São Paulo).
const rows = minuteRows(range.start - 3_600_000, range.end + 4 * 3_600_000)
const dayRows = rows.filter((row) => {
  const t = Date.parse(`${row.timestamp}Z`)
  return t >= range.start && t < range.end
})

/** Fast retries, so that a test of them takes milliseconds. */
const quick = { retries: 2, backoff: "10 millis", timeout: "2 seconds" } as const

const extract = (
  options: HttpSource.HttpSourceOptions,
  partition: Partition.Partition = day,
  variables: ReadonlyArray<Signal.Variable> = Signal.defaultVariables
) =>
  Effect.gen(function* () {
    const source = yield* HttpSource.make(options)
    const frames = yield* Stream.runCollect(source.extract({ partition, range: Partition.range(partition), variables }))
    return SampleFrame.concat(frames, variables)
  }).pipe(Effect.provide(FetchHttpClient.layer))

/** Runs the pipeline on the day over HTTP; returns its outcome and what the sink holds after it. */
const pipeline = (options: HttpSource.HttpSourceOptions) =>
  Effect.gen(function* () {
    const memory = yield* MemorySink.MemorySink
    const outcome = yield* Effect.result(Pipeline.run(day))
    return { outcome, loaded: yield* memory.rows }
  }).pipe(Effect.provide(Layer.merge(HttpSource.layer(options), MemorySink.layer())))

/** `first` for the first `times` requests, then the contract. */
const failing =
  (times: number, first: Handler): Handler =>
  (request, response, attempt) =>
    attempt <= times ? first(request, response, attempt) : sensors(rows)(request, response, attempt)

// Timers may fire a little early by performance.now()'s reckoning (they round to whole milliseconds).
const clockSlack = 5

describe("HttpSource over a real HTTP server", () => {
  it.live("extracts exactly the served day, and a pipeline over it loads what the same samples in memory give", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* serve(sensors(rows))
      const frame = yield* extract({ ...quick, baseUrl })
      expect(frame).toEqual(SampleFrame.fromRows(dayRows, Signal.defaultVariables))
      expect(frame.length).toBe(1440)

      const { loaded, outcome } = yield* pipeline({ ...quick, baseUrl })
      const report = outcome._tag === "Success" ? outcome.success : undefined
      expect(report).toMatchObject({ status: "succeeded", samplesRead: 1440, samplesIgnored: 0, windows: 144 })
      const expected = yield* Effect.gen(function* () {
        yield* Pipeline.run(day)
        return yield* (yield* MemorySink.MemorySink).rows
      }).pipe(Effect.provide(Layer.merge(MemorySource.layer(dayRows), MemorySink.layer())))
      expect(loaded.length).toBe(144 * 2 * 4)
      expect(loaded).toEqual(expected)
    })
  )

  it.live("asks for the partition's instants, both ends, and only the asked metrics", () =>
    Effect.gen(function* () {
      const { baseUrl, requests } = yield* serve(sensors(rows))
      yield* extract({ ...quick, baseUrl })
      const [utc] = requests
      expect(utc!.pathname).toBe("/api/v1/sensors")
      expect(utc!.searchParams.get("start_date")).toBe("2024-01-01T00:00:00")
      expect(utc!.searchParams.get("end_date")).toBe("2024-01-02T00:00:00")
      expect(utc!.searchParams.getAll("metrics")).toEqual(["wind_speed", "power"])

      // A local day is its UTC instants; here three hours after UTC midnight.
      const saoPaulo = Partition.makeUnsafe("2024-01-01", "America/Sao_Paulo")
      const temperature = ["ambient_temperature" as Signal.Variable]
      const local = yield* extract({ ...quick, baseUrl }, saoPaulo, temperature)
      expect(requests[1]!.searchParams.get("start_date")).toBe("2024-01-01T03:00:00")
      expect(requests[1]!.searchParams.get("end_date")).toBe("2024-01-02T03:00:00")
      expect(requests[1]!.searchParams.getAll("metrics")).toEqual(["ambient_temperature"])
      expect(Object.keys(local.columns)).toEqual(["ambient_temperature"])
      expect(local.length).toBe(1440)
      expect(local.timestamps[0]).toBe(Partition.range(saoPaulo).start)
    })
  )

  it.live("drops what a server sends outside the day, and the sample at the next midnight", () =>
    Effect.gen(function* () {
      // A server that ignores the dates and sends all it has, out of order too.
      const { baseUrl } = yield* serve((_request, response) => sendJson(response, 200, [...rows].reverse()))
      const frame = yield* extract({ ...quick, baseUrl })
      expect(frame.length).toBe(1440)
      expect(Math.min(...frame.timestamps)).toBe(range.start)
      expect(Math.max(...frame.timestamps)).toBe(range.end - 60_000)
    })
  )

  it.live("connection refused: SourceUnavailable after the retries, naming the URL", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      const baseUrl = `http://127.0.0.1:${port}/api/v1`
      const error = yield* Effect.flip(extract({ ...quick, retries: 1, baseUrl }))
      expect(error).toBeInstanceOf(Source.SourceUnavailable)
      expect(error).toMatchObject({ reason: "connection refused (gave up after 2 attempts)" })
      expect(error).not.toHaveProperty("status")
      expect((error as Source.SourceUnavailable).source).toMatch(
        new RegExp(`^${baseUrl}/sensors\\?start_date=2024-01-01T00%3A00%3A00&`)
      )
      expect(error.message).toContain("source unavailable at http://127.0.0.1:")
    })
  )

  it.live("a server that hangs, before or during the answer, times out per attempt and is retried", () =>
    Effect.gen(function* () {
      const silent = yield* serve(() => {})
      const result = yield* Effect.flip(
        extract({ baseUrl: silent.baseUrl, timeout: "200 millis", retries: 1, backoff: "10 millis" })
      )
      expect(result).toMatchObject({
        _tag: "SourceUnavailable",
        reason: "timed out after 200ms (gave up after 2 attempts)"
      })
      expect(silent.requests.length).toBe(2)
      // The retry came after the first attempt's timeout, not before (the exact schedule is checked on
      // the test clock in HttpSource.test.ts).
      expect(silent.arrivals[1]! - silent.arrivals[0]!).toBeGreaterThanOrEqual(200 - clockSlack)

      // Headers and half a body, then nothing: the body counts against the timeout too.
      const stalled = yield* serve((_request, response) => {
        response.writeHead(200, { "content-type": "application/json" })
        response.write(JSON.stringify(dayRows).slice(0, 10_000))
      })
      const error = yield* Effect.flip(extract({ baseUrl: stalled.baseUrl, timeout: "200 millis", retries: 0 }))
      expect(error).toMatchObject({ _tag: "SourceUnavailable", reason: "timed out after 200ms" })
    })
  )

  it.live("a 500, then a 429, then the answer: retried, and it succeeds", () =>
    Effect.gen(function* () {
      const server = yield* serve(
        failing(2, (_request, response, attempt) =>
          attempt === 1
            ? sendJson(response, 500, "Internal Server Error")
            : sendJson(response, 429, { detail: "slow down" })
        )
      )
      const frame = yield* extract({ ...quick, baseUrl: server.baseUrl })
      expect(frame.length).toBe(1440)
      expect(server.requests.length).toBe(3)
    })
  )

  it.live("a 503 with Retry-After: 1 waits a second before the next attempt", () =>
    Effect.gen(function* () {
      const server = yield* serve(
        failing(1, (_request, response) => sendJson(response, 503, { detail: "warming up" }, { "retry-after": "1" }))
      )
      const frame = yield* extract({ ...quick, baseUrl: server.baseUrl })
      expect(frame.length).toBe(1440)
      expect(server.requests.length).toBe(2)
      // The backoff alone would be 10 ms ± 20%; the server asked for a second.
      expect(server.arrivals[1]! - server.arrivals[0]!).toBeGreaterThanOrEqual(1000 - clockSlack)
    })
  )

  it.live("5xx until the retries run out: SourceUnavailable with the status and the server's words", () =>
    Effect.gen(function* () {
      const server = yield* serve((_request, response) => sendJson(response, 503, { detail: "maintenance" }))
      const error = yield* Effect.flip(extract({ ...quick, baseUrl: server.baseUrl }))
      expect(error).toMatchObject({
        _tag: "SourceUnavailable",
        status: 503,
        reason: "HTTP 503: maintenance (gave up after 3 attempts)"
      })
      expect(server.requests.length).toBe(3)
    })
  )

  it.live("a 422 is not retried: SourceRejected with FastAPI's detail, readable", () =>
    Effect.gen(function* () {
      const validation = yield* serve((_request, response) =>
        sendJson(response, 422, {
          detail: [
            {
              type: "enum",
              loc: ["query", "metrics", 0],
              msg: "Input should be 'wind_speed', 'power' or 'ambient_temperature'",
              input: "speed",
              ctx: { expected: "'wind_speed', 'power' or 'ambient_temperature'" }
            },
            { type: "missing", loc: ["query", "end_date"], msg: "Field required", input: null }
          ]
        })
      )
      const error = yield* Effect.flip(extract({ ...quick, baseUrl: validation.baseUrl }))
      expect(error).toBeInstanceOf(Source.SourceRejected)
      expect(error).toMatchObject({
        status: 422,
        detail: [
          `query.metrics.0: Input should be 'wind_speed', 'power' or 'ambient_temperature' (got "speed")`,
          "query.end_date: Field required"
        ].join("; ")
      })
      expect(validation.requests.length).toBe(1)

      const plain = yield* serve((_request, response) =>
        sendJson(response, 400, { detail: "start_date must be before end_date" })
      )
      const reversed = yield* Effect.flip(extract({ ...quick, baseUrl: plain.baseUrl }))
      expect(reversed).toMatchObject({
        _tag: "SourceRejected",
        status: 400,
        detail: "start_date must be before end_date"
      })
      expect(reversed.message).toMatch(/rejected the request \(400\): start_date must be before end_date$/)

      const missing = yield* serve((_request, response) => {
        response.writeHead(404, { "content-type": "text/plain" })
        response.end("no such route")
      })
      const notFound = yield* Effect.flip(extract({ ...quick, baseUrl: missing.baseUrl }))
      expect(notFound).toMatchObject({ _tag: "SourceRejected", status: 404, detail: "no such route" })
      expect(missing.requests.length).toBe(1)
    })
  )

  it.live("a truncated body: invalid data when the answer ends early, unavailable when the connection drops", () =>
    Effect.gen(function* () {
      const text = JSON.stringify(dayRows)
      const short = yield* serve((_request, response) => sendJson(response, 200, text.slice(0, text.length / 2)))
      const { loaded, outcome } = yield* pipeline({ ...quick, baseUrl: short.baseUrl })
      expect(outcome).toMatchObject({
        _tag: "Failure",
        failure: { _tag: "SourceInvalidData", reason: "the body ends before its JSON does (truncated)" }
      })
      expect(loaded).toEqual([])
      expect(short.requests.length).toBe(1)

      // The server promises the whole body, sends half and hangs up: the transfer failed, try again.
      const dropped = yield* serve((request, response) => {
        response.writeHead(200, { "content-type": "application/json", "content-length": String(text.length) })
        response.write(text.slice(0, text.length / 2), () => request.socket.destroy())
      })
      const error = yield* Effect.flip(extract({ ...quick, baseUrl: dropped.baseUrl }))
      expect(error).toMatchObject({
        _tag: "SourceUnavailable",
        reason: "the answer broke off: connection closed by the server (gave up after 3 attempts)"
      })
      expect(dropped.requests.length).toBe(3)
    })
  )

  it.live("a wrong type in one row fails the partition, naming the row and the field, and loads nothing", () =>
    Effect.gen(function* () {
      const broken: Array<SensorRow | Record<string, unknown>> = [...rows]
      broken[700] = { ...rows[700]!, wind_speed: "10.2" }
      const server = yield* serve(sensors(broken as Array<SensorRow>))
      const { loaded, outcome } = yield* pipeline({ ...quick, baseUrl: server.baseUrl })
      expect(loaded).toEqual([])
      expect(outcome._tag).toBe("Failure")
      const error = outcome._tag === "Failure" ? outcome.failure : undefined
      expect(error).toBeInstanceOf(Source.SourceInvalidData)
      // Row 700 of the source's rows is row 640 of the answer, which starts an hour later.
      expect(error).toMatchObject({
        row: 640,
        field: "wind_speed",
        reason: 'expected a number or null, got a string: "10.2"'
      })
      expect(error?.message).toMatch(
        /^invalid data from http:\/\/127\.0\.0\.1:\d+\/api\/v1\/sensors\?.* \(row 640, field "wind_speed"\)/
      )
      expect(server.requests.length).toBe(1)
    })
  )
})
