/**
 * The fonte server on local Postgres: seeding 10 days, the one-day GET, a 30-day range streamed.
 * Needs a Postgres: DATABASE_URL (a server URL; the bench creates and drops its own database),
 * default postgres://postgres@127.0.0.1:5432/postgres. Run: `npm run bench -w @delfos/fonte`.
 */
import { cpus } from "node:os"
import { TestDatabase } from "@delfos/test-utils"
import * as FonteClient from "../src/FonteClient.ts"
import * as Server from "../src/Server.ts"

const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

// A fresh database of its own on that server, dropped at the end.
const database = await TestDatabase.acquirePostgres(admin)
const server = await Server.createFonteServer({ port: 0, databaseUrl: database.url })
const seed = (startDate: string, days: number) => FonteClient.populatePromise(server.url, { startDate, days })

try {
  const results: Array<[string, string]> = []

  // Seeding: the first run inserts, later runs of the same days update every row.
  let started = performance.now()
  await seed("2024-01-01", 10)
  results.push(["seed 10 days (14,400 rows), into an empty table", `${(performance.now() - started).toFixed(0)} ms`])
  const reseeds: Array<number> = []
  for (let i = 0; i < 5; i++) {
    started = performance.now()
    await seed("2024-01-01", 10)
    reseeds.push(performance.now() - started)
  }
  results.push(["seed the same 10 days again (every row an update), median of 5", `${median(reseeds).toFixed(0)} ms`])

  // The one-day GET, as the reference's ETL asks for it.
  const day =
    "/api/v1/sensors?start_date=2024-01-05T00:00:00&end_date=2024-01-06T00:00:00&metrics=wind_speed&metrics=power"
  for (let i = 0; i < 50; i++) await (await fetch(`${server.url}${day}`)).arrayBuffer()
  const days: Array<number> = []
  for (let i = 0; i < 300; i++) {
    started = performance.now()
    await (await fetch(`${server.url}${day}`)).arrayBuffer()
    days.push(performance.now() - started)
  }
  days.sort((a, b) => a - b)
  results.push([
    "one-day GET (1,441 rows), median of 300",
    `${median(days).toFixed(2)} ms (p95 ${days[Math.floor(days.length * 0.95)]!.toFixed(2)} ms)`
  ])

  // A 30-day range, consumed as a stream; the server's memory sampled while it streams.
  await seed("2024-01-11", 20)
  const month = "/api/v1/sensors?start_date=2024-01-01&end_date=2024-01-30T23:59:59"
  await (await fetch(`${server.url}${month}`)).arrayBuffer()
  const rates: Array<number> = []
  let peak = 0
  const baseline = process.memoryUsage.rss()
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss())
  }, 5)
  for (let i = 0; i < 5; i++) {
    started = performance.now()
    const body = (await fetch(`${server.url}${month}`)).body!
    let bytes = 0
    for await (const chunk of body) bytes += chunk.length
    const ms = performance.now() - started
    rates.push(43_200 / (ms / 1000))
    if (bytes < 43_200 * 60) throw new Error(`short body: ${bytes} bytes`)
  }
  clearInterval(sampler)
  results.push(["30-day GET (43,200 rows), median of 5", `${(median(rates) / 1000).toFixed(0)}k rows/s`])
  results.push([
    "process RSS while streaming 30 days (server and client in one process)",
    `${(baseline / 2 ** 20).toFixed(0)} MiB before, ${(peak / 2 ** 20).toFixed(0)} MiB peak`
  ])

  console.log(
    `node ${process.version}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}, Postgres at ${new URL(admin).host}\n`
  )
  console.log("| measure | result |")
  console.log("|---|---:|")
  for (const [label, value] of results) console.log(`| ${label} | ${value} |`)
} finally {
  await server.close()
  await database.release()
}
