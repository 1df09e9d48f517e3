/**
 * Decoding the fonte API's JSON into frames: `SensorsJson.decode` against `JSON.parse` and a loop
 * over its rows, for 1 and 30 days of SCADA-like minutes, then a whole `HttpSource` extract of a day
 * over loopback. Prints a markdown table. Run: `npm run bench -w @delfos/etl-source-http`, or
 * `node bench/source-http.bench.ts` in packages/source-http.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { cpus } from "node:os"
import { Partition, SampleFrame, Signal, Timestamp } from "@delfos/etl"
import { Effect, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import * as HttpSource from "../src/HttpSource.ts"
import * as SensorsJson from "../src/SensorsJson.ts"

const variables = Signal.defaultVariables

/**
 * The answer to `metrics=wind_speed&metrics=power` for `days` days from 2024-01-01, as the reference
 * sends it: compact JSON, values rounded to 2 decimals, the unselected temperature `null`, 0.5% of
 * values missing, and the row at the last midnight (the end is inclusive; the decoder drops it).
 * Wind is an autocorrelated process with a daily pattern, power follows a power curve.
 */
const answer = (days: number): string => {
  let state = 7
  const random = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
    return state / 4_294_967_296
  }
  const start = Date.UTC(2024, 0, 1)
  const rows: Array<string> = []
  let gust = 0
  for (let i = 0; i <= days * 1440; i++) {
    gust = 0.95 * gust + 0.6 * (random() - 0.5)
    const wind = Math.max(0, 7 + 2 * Math.sin(((i % 1440) / 1440) * 2 * Math.PI) + 4 * gust)
    const power =
      wind < 3 || wind > 25 ? 0 : wind >= 12 ? 5000 : 5000 * ((wind - 3) / 9) ** 3 * (0.98 + 0.04 * random())
    const value = (x: number) => (random() < 0.005 ? "null" : String(Math.round(x * 100) / 100))
    const timestamp = Timestamp.formatNaive(start + i * 60_000)
    rows.push(
      `{"timestamp":"${timestamp}","wind_speed":${value(wind)},"power":${value(power)},"ambient_temperature":null}`
    )
  }
  return `[${rows.join(",")}]`
}

/** The alternative: the bytes as text, `JSON.parse`, then the same checks and columns from the row objects. */
const viaJsonParse = (bytes: Uint8Array, range: Partition.TimeRange): SampleFrame.SampleFrame => {
  const rows: unknown = JSON.parse(new TextDecoder().decode(bytes))
  if (!Array.isArray(rows)) throw new Error("not an array")
  const timestamps = new Float64Array(rows.length)
  const columns = variables.map(() => new Float64Array(rows.length))
  let length = 0
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Record<string, unknown>
    if (typeof row !== "object" || row === null || Array.isArray(row)) throw new Error(`row ${i}`)
    const t = typeof row.timestamp === "string" ? Timestamp.parse(row.timestamp) : Number.NaN
    if (Number.isNaN(t)) throw new Error(`row ${i}: timestamp`)
    for (let v = 0; v < variables.length; v++) {
      const value = row[variables[v]!]
      if (value === null) columns[v]![length] = Number.NaN
      else if (typeof value === "number" && Number.isFinite(value)) columns[v]![length] = value
      else throw new Error(`row ${i}: ${variables[v]}`)
    }
    if (t >= range.start && t < range.end) timestamps[length++] = t
  }
  return SampleFrame.make(
    timestamps.slice(0, length),
    Object.fromEntries(variables.map((variable, v) => [variable, columns[v]!.slice(0, length)]))
  )
}

const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

let sink = 0
const time = (runs: number, f: () => number): number => {
  for (let i = 0; i < Math.max(20, runs / 5); i++) sink += f()
  const times: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    sink += f()
    times.push(performance.now() - started)
  }
  return median(times)
}

const rangeOf = (days: number): Partition.TimeRange => ({
  start: Date.UTC(2024, 0, 1),
  end: Date.UTC(2024, 0, 1 + days)
})

const results: Array<{ label: string; rows: number; bytes: number; ms: number }> = []
for (const days of [1, 30]) {
  const text = answer(days)
  // What the HTTP client hands over: the body's bytes.
  const bytes = new TextEncoder().encode(text)
  const range = rangeOf(days)
  const rows = days * 1440 + 1
  const runs = days === 1 ? 500 : 50
  const decoded = SensorsJson.decode(bytes, { source: "bench", variables, range })
  if (decoded._tag === "Failure") throw decoded.failure
  const frames = decoded.success
  const viaParse = viaJsonParse(bytes, range)
  const ours = SampleFrame.concat(frames, variables)
  const same = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]))
  if (
    !(
      same(ours.timestamps, viaParse.timestamps) && variables.every((v) => same(ours.columns[v]!, viaParse.columns[v]!))
    )
  ) {
    throw new Error("SensorsJson.decode and JSON.parse disagree")
  }
  const label = `${days} day${days === 1 ? "" : "s"}`
  results.push({
    label: `${label}: SensorsJson.decode`,
    rows,
    bytes: text.length,
    ms: time(runs, () => {
      const result = SensorsJson.decode(bytes, { source: "bench", variables, range })
      return result._tag === "Success" ? result.success.length : 0
    })
  })
  results.push({
    label: `${label}: TextDecoder + JSON.parse + columns`,
    rows,
    bytes: text.length,
    ms: time(runs, () => viaJsonParse(bytes, range).length)
  })
  results.push({
    label: `${label}: JSON.parse of the text alone (no frames)`,
    rows,
    bytes: text.length,
    ms: time(runs, () => (JSON.parse(text) as Array<unknown>).length)
  })
}

// A whole extract of a day, request to frames, from a local server that answers from memory.
const day = answer(1)
const server = createServer((_request, response) => {
  response.writeHead(200, { "content-type": "application/json" })
  response.end(day)
})
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
const { port } = server.address() as AddressInfo
const partition = Partition.makeUnsafe("2024-01-01")
const extractDay = Effect.gen(function* () {
  const source = yield* HttpSource.make({ baseUrl: `http://127.0.0.1:${port}/api/v1` })
  const extract = source.extract({ partition, range: Partition.range(partition), variables })
  const times: Array<number> = []
  for (let i = 0; i < 220; i++) {
    const started = performance.now()
    const frames = yield* Stream.runCollect(extract)
    if (i >= 20) times.push(performance.now() - started)
    sink += frames.length
  }
  return median(times)
}).pipe(Effect.provide(FetchHttpClient.layer), Effect.orDie)
const extractMs = await Effect.runPromise(extractDay)
server.close()

console.log(`node ${process.version}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}`)
console.log("\n| workload | rows | JSON | median time | rows/s | MB/s |")
console.log("|---|---:|---:|---:|---:|---:|")
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`
for (const { bytes, label, ms, rows } of results) {
  const perSecond = `${(rows / (ms / 1000) / 1e6).toFixed(1)} M | ${(bytes / 1e6 / (ms / 1000)).toFixed(0)}`
  console.log(`| ${label} | ${rows.toLocaleString("en")} | ${megabytes(bytes)} | ${ms.toFixed(3)} ms | ${perSecond} |`)
}
const extractLabel = "1 day: HttpSource extract over loopback (request to frames)"
console.log(`| ${extractLabel} | 1,441 | ${megabytes(day.length)} | ${extractMs.toFixed(3)} ms | | |`)
if (sink < 0) console.log(sink)
