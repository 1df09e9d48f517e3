/**
 * A farm on the fonte: seeding a fleet-year (100 turbines × 365 days × 1,440 = 52.56 M samples)
 * through the API, and serving it back. Needs a Postgres: DATABASE_URL (a server URL; the bench
 * creates and drops its own database), default postgres://postgres@127.0.0.1:5432/postgres.
 * Run: `npm run bench:fleet -w @delfos/fonte` (`-- --turbines 10 --days 30` for a smaller farm,
 * `-- --serve-only` to skip the re-seed).
 *
 * Server and client run in this one process; Postgres is the machine's. CPU is reported for this
 * process and for the Postgres backends of the bench's database, so that a shared machine's noise
 * can be told from the work.
 */
import { readFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { parseArgs } from "node:util"
import { TestDatabase } from "@delfos/test-utils"
import * as Generator from "../src/Generator.ts"
import * as Server from "../src/Server.ts"

const { values: flags } = parseArgs({
  options: {
    turbines: { type: "string", default: "100" },
    days: { type: "string", default: "365" },
    "serve-only": { type: "boolean", default: false }
  }
})
const turbines = Number(flags.turbines)
const days = Number(flags.days)
const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const start = Date.UTC(2023, 0, 1)
const dayMillis = 86_400_000
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const rate = (rows: number, ms: number) =>
  `${((rows / ms) * 1000).toLocaleString("en-US", { maximumFractionDigits: 0 })}`

const database = await TestDatabase.acquirePostgres(admin)
const server = await Server.createFonteServer({ port: 0, databaseUrl: database.url, maxConnections: 4 })
const name = new URL(database.url).pathname.slice(1)

/** CPU ms of this process and of the Postgres backends serving the bench's database. */
const backendPids = async () =>
  (
    await TestDatabase.query<{ pid: number }>(
      admin,
      `SELECT pid FROM pg_stat_activity WHERE datname = '${name}' AND backend_type = 'client backend'`
    )
  ).map((row) => row.pid)
const ticks = (pid: number) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}
const measure = async <A>(work: () => Promise<A>) => {
  const before = new Map((await backendPids()).map((pid) => [pid, ticks(pid)]))
  const cpu = process.cpuUsage()
  const started = performance.now()
  const result = await work()
  const wall = performance.now() - started
  const used = process.cpuUsage(cpu)
  let postgres = 0
  for (const pid of await backendPids()) postgres += ticks(pid) - (before.get(pid) ?? 0)
  return { result, wall, node: (used.user + used.system) / 1000, postgres }
}

const results: Array<[string, string, string]> = []
const record = (label: string, rows: number, m: { wall: number; node: number; postgres: number }) =>
  results.push([
    label,
    `${(m.wall / 1000).toFixed(2)} s, ${rate(rows, m.wall)} rows/s`,
    `node ${(m.node / 1000).toFixed(1)} s, postgres ${(m.postgres / 1000).toFixed(1)} s`
  ])

const populate = async (seed: number) => {
  const response = await fetch(`${server.url}/api/v1/sensors/populate_database`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ start_date: "2023-01-01", days, turbines, seed })
  })
  if (response.status !== 201) throw new Error(`populate: ${response.status} ${await response.text()}`)
  return ((await response.json()) as { details: { total_records: number } }).details.total_records
}

const body = async (path: string) => {
  const response = await fetch(`${server.url}${path}`)
  if (response.status !== 200) throw new Error(`${path}: ${response.status}`)
  let bytes = 0
  for await (const chunk of response.body!) bytes += chunk.length
  return bytes
}

const ids = (from: number, count: number) =>
  Generator.turbines(from + count - 1)
    .slice(from - 1)
    .map((turbine) => turbine.turbineId)
    .join(",")
const dayQuery = (d: number, turbineIds: string) => {
  const first = new Date(start + d * dayMillis).toISOString().slice(0, 10)
  return `/api/v1/sensors?start_date=${first}T00:00:00&end_date=${first}T23:59:59&turbine_id=${turbineIds}`
}

try {
  // The generator alone, for the share of the seed it takes.
  const generated = await measure(async () => {
    const farm = Generator.farm(42)
    let rows = 0
    for (let n = 1; n <= Math.min(turbines, 10); n++) {
      for (let d = 0; d < days; d++) rows += farm.turbineDay(n, start + d * dayMillis).length
    }
    return rows
  })
  record(`generate ${Math.min(turbines, 10)} turbines × ${days} days (no database)`, generated.result, generated)

  const seeded = await measure(() => populate(42))
  record(`seed ${turbines} turbines × ${days} days into an empty table`, seeded.result, seeded)
  const [size] = await TestDatabase.query<{ heap: string; index: string; rows: number }>(
    database.url,
    "SELECT pg_size_pretty(pg_relation_size('data')) AS heap, pg_size_pretty(pg_relation_size('data_pkey')) AS index, count(*)::int AS rows FROM data"
  )
  results.push([
    `  table after the seed: ${size!.rows.toLocaleString("en-US")} rows`,
    `heap ${size!.heap}`,
    `key ${size!.index}`
  ])

  if (!flags["serve-only"]) {
    const again = await measure(() => populate(42))
    record(`seed the same again (every turbine-day replaced)`, again.result, again)
  }
  await TestDatabase.query(database.url, "VACUUM ANALYZE data")

  // Serving: one request of 10 turbines × 1 day, as the fleet ETL may ask.
  const ten = dayQuery(100, ids(1, 10))
  for (let i = 0; i < 5; i++) await body(ten)
  const tens: Array<number> = []
  for (let i = 0; i < 20; i++) {
    const t = performance.now()
    await body(ten)
    tens.push(performance.now() - t)
  }
  const tenRows = 10 * 1440
  results.push([
    "GET 10 turbines × 1 day (≈14,400 rows), median of 20",
    `${median(tens).toFixed(1)} ms, ${rate(tenRows, median(tens))} rows/s`,
    ""
  ])

  // A day of the whole fleet: in one request, and in batches of 10 turbines, one or two at a time.
  const fleetDay = turbines * 1440
  const whole = await measure(() => body(dayQuery(200, ids(1, turbines))))
  record(`GET a day of ${turbines} turbines in one request`, fleetDay, whole)
  const batches = Array.from({ length: Math.ceil(turbines / 10) }, (_, b) =>
    ids(b * 10 + 1, Math.min(10, turbines - b * 10))
  )
  const sequential = await measure(async () => {
    for (const batch of batches) await body(dayQuery(201, batch))
  })
  record(`GET a day of ${turbines} turbines, ${batches.length} requests of 10, one at a time`, fleetDay, sequential)
  const paired = await measure(async () => {
    const queue = [...batches]
    await Promise.all(
      [0, 1].map(async () => {
        for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) await body(dayQuery(202, batch))
      })
    )
  })
  record(`GET a day of ${turbines} turbines, ${batches.length} requests of 10, two at a time`, fleetDay, paired)

  // Everything seeded, read back as the fleet ETL would: every day, batches of 10 turbines, two at a time.
  const all = await measure(async () => {
    const queue = Array.from({ length: days }, (_, d) => batches.map((batch) => dayQuery(d, batch))).flat()
    let bytes = 0
    await Promise.all(
      [0, 1].map(async () => {
        for (let path = queue.shift(); path !== undefined; path = queue.shift()) bytes += await body(path)
      })
    )
    return bytes
  })
  record(`GET all ${turbines} × ${days} days, day by day in requests of 10 turbines, two at a time`, seeded.result, all)
  results.push(["  JSON served", `${(all.result / 2 ** 30).toFixed(2)} GiB`, ""])

  console.log(
    `node ${process.version}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}, Postgres at ${new URL(admin).host}\n`
  )
  console.log("| measure | wall time, rate | CPU |")
  console.log("|---|---:|---|")
  for (const [label, value, cpu] of results) console.log(`| ${label} | ${value} | ${cpu} |`)
} finally {
  await server.close()
  await database.release()
}
