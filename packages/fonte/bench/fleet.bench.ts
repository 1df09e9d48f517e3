/**
 * A farm on the fonte: seeding a fleet-year (100 turbines × 365 days × 1,440 = 52.56 M samples)
 * through the API, and serving it back. Needs a Postgres: DATABASE_URL (a server URL; the bench
 * creates and drops its own database), default postgres://postgres@127.0.0.1:5432/postgres.
 * Run: `npm run bench:fleet -w @delfos/fonte` (`-- --turbines 10 --days 30` for a smaller farm,
 * `-- --no-reseed` to skip seeding it all again, `-- --no-embedded` to skip the PGlite figure,
 * `-- --seed-only` for the first seed alone).
 *
 * The fonte runs in a process of its own (bench/fonte-process.ts); this process is the client.
 * CPU is reported for the fonte's process and for the Postgres backends of the bench's database,
 * so that a shared machine's noise can be told from the work.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { parseArgs } from "node:util"
import { TestDatabase } from "@delfos/test-utils"
import * as Api from "../src/Api.ts"
import * as FonteClient from "../src/FonteClient.ts"
import * as Generator from "../src/Generator.ts"

const { values: flags } = parseArgs({
  options: {
    turbines: { type: "string", default: "100" },
    days: { type: "string", default: "365" },
    "no-reseed": { type: "boolean", default: false },
    "no-embedded": { type: "boolean", default: false },
    "seed-only": { type: "boolean", default: false }
  }
})
const turbines = Number(flags.turbines)
const days = Number(flags.days)
const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const start = Date.UTC(2023, 0, 1)
const dayMillis = 86_400_000
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const perSecond = (rows: number, ms: number) =>
  ((rows / ms) * 1000).toLocaleString("en-US", { maximumFractionDigits: 0 })

/** The fonte in a process of its own, on `databaseUrl` (embedded without one). */
const startFonte = async (databaseUrl: string | undefined) => {
  const child: ChildProcess = spawn(process.execPath, [new URL("./fonte-process.ts", import.meta.url).pathname], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, FONTE_DATABASE_URL: databaseUrl ?? "" }
  })
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.once("data", (data: Buffer) => resolve(String(data).trim()))
    child.once("exit", (code) => reject(new Error(`the fonte exited with ${code}`)))
  })
  const stop = async () => {
    child.stdin!.write("stop\n")
    await new Promise((resolve) => child.once("exit", resolve))
  }
  return { url, pid: child.pid!, stop }
}

/** CPU milliseconds a process has used (user + system), from /proc. */
const cpuOf = (pid: number) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}

const database = await TestDatabase.acquirePostgres(admin)
const name = new URL(database.url).pathname.slice(1)
const fonte = await startFonte(database.url)
const backends = async () =>
  (
    await TestDatabase.query<{ pid: number }>(
      admin,
      `SELECT pid FROM pg_stat_activity WHERE datname = '${name}' AND backend_type = 'client backend'`
    )
  ).map((row) => row.pid)

interface Measured<A> {
  readonly result: A
  readonly wall: number
  readonly fonte: number
  readonly client: number
  readonly postgres: number
}

const measure = async <A>(work: () => Promise<A>): Promise<Measured<A>> => {
  const before = new Map((await backends()).map((pid) => [pid, cpuOf(pid)]))
  const fonte0 = cpuOf(fonte.pid)
  const client0 = process.cpuUsage()
  const started = performance.now()
  const result = await work()
  const wall = performance.now() - started
  const client = process.cpuUsage(client0)
  let postgres = 0
  for (const pid of await backends()) postgres += cpuOf(pid) - (before.get(pid) ?? 0)
  return { result, wall, fonte: cpuOf(fonte.pid) - fonte0, client: (client.user + client.system) / 1000, postgres }
}

const results: Array<[string, string, string]> = []
const record = (label: string, rows: number, m: Measured<unknown>) =>
  results.push([
    label,
    `${(m.wall / 1000).toFixed(2)} s, ${perSecond(rows, m.wall)} rows/s`,
    `fonte ${(m.fonte / 1000).toFixed(1)} s (${Math.round((m.fonte * 1e6) / rows)} ns/row), Postgres ${(m.postgres / 1000).toFixed(1)} s (${Math.round((m.postgres * 1e6) / rows)} ns/row), client ${(m.client / 1000).toFixed(1)} s`
  ])

const populate = async (url: string, body: object) => {
  const response = await fetch(`${url}/api/v1/sensors/populate_database`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  if (response.status !== 201) throw new Error(`populate: ${response.status} ${await response.text()}`)
  return ((await response.json()) as { details: { total_records: number } }).details.total_records
}

/** A response read to the end, as bytes. */
const read = async (url: string) => {
  const response = await fetch(url)
  if (response.status !== 200) throw new Error(`${url}: ${response.status}`)
  return (await response.arrayBuffer()).byteLength
}

const ids = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => Generator.turbineId(from + i)).join(",")
const dayQuery = (d: number, turbineIds: string, format = "json") => {
  const first = new Date(start + d * dayMillis).toISOString().slice(0, 10)
  return `${fonte.url}/api/v1/sensors?start_date=${first}T00:00:00&end_date=${first}T23:59:59&turbine_id=${turbineIds}&format=${format}`
}
const batches = Array.from({ length: Math.ceil(turbines / 10) }, (_, b) =>
  ids(b * 10 + 1, Math.min(10, turbines - b * 10))
)

/** Reads `paths` with `concurrency` requests at a time; returns the bytes read. */
const readAll = async (paths: Array<string>, concurrency: number) => {
  const queue = [...paths]
  const sizes = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      let bytes = 0
      for (let path = queue.shift(); path !== undefined; path = queue.shift()) bytes += await read(path)
      return bytes
    })
  )
  return sizes.reduce((a, b) => a + b, 0)
}

/** Ends the measures early (`--seed-only`). */
class Done extends Error {}

try {
  // The generator alone, for its share of the seed.
  const generated = await measure(async () => {
    const farm = Generator.farm(42)
    let rows = 0
    for (let n = 1; n <= Math.min(turbines, 10); n++) {
      for (let d = 0; d < days; d++) rows += farm.turbineDay(n, start + d * dayMillis).length
    }
    return rows
  })
  results.push([
    `generate ${Math.min(turbines, 10)} turbines × ${days} days (no database)`,
    `${(generated.client / 1000).toFixed(2)} s CPU, ${perSecond(generated.result, generated.client)} rows/s`,
    ""
  ])

  // FonteClient.populate, as `delfos-etl fonte seed` does: requests of at most Api.maxTurbineDays turbine-days.
  const requests = Math.ceil(days / Math.min(366, Math.floor(Api.maxTurbineDays / turbines)))
  const seedAll = () =>
    FonteClient.populatePromise(fonte.url, { startDate: "2023-01-01", days, turbines, seed: 42 }).then(
      (answer) => answer.details.total_records
    )
  const seeded = await measure(seedAll)
  record(`seed ${turbines} turbines × ${days} days into an empty table (${requests} requests)`, seeded.result, seeded)
  const [size] = await TestDatabase.query<{ heap: string; key: string; rows: number }>(
    database.url,
    "SELECT pg_size_pretty(pg_relation_size('data')) AS heap, pg_size_pretty(pg_relation_size('data_pkey')) AS key, count(*)::int AS rows FROM data"
  )
  results.push([`  the table: ${size!.rows.toLocaleString("en-US")} rows`, `heap ${size!.heap}, key ${size!.key}`, ""])
  if (flags["seed-only"]) throw new Done()
  if (!flags["no-reseed"]) {
    const again = await measure(seedAll)
    record("seed it all again (every turbine-day deleted and copied)", again.result, again)
  }
  await TestDatabase.query(database.url, "VACUUM ANALYZE data")

  // One request of 10 turbines × 1 day, as the fleet ETL may ask, in both formats.
  for (const format of ["json", "columns"]) {
    const path = dayQuery(100, ids(1, 10), format)
    for (let i = 0; i < 5; i++) await read(path)
    const times: Array<number> = []
    for (let i = 0; i < 21; i++) {
      const t = performance.now()
      await read(path)
      times.push(performance.now() - t)
    }
    results.push([
      `GET 10 turbines × 1 day (14,400 rows), format=${format}, median of 21`,
      `${median(times).toFixed(1)} ms, ${perSecond(14_400, median(times))} rows/s`,
      ""
    ])
  }

  // A day of the whole fleet: in one request, and in batches of 10 turbines, one or two at a time.
  const fleetDay = turbines * 1440
  record(
    `GET a day of ${turbines} turbines in one request`,
    fleetDay,
    await measure(() => read(dayQuery(200, ids(1, turbines))))
  )
  for (const concurrency of [1, 2]) {
    const paths = batches.map((batch) => dayQuery(201 + concurrency, batch))
    record(
      `GET a day of ${turbines} turbines, ${batches.length} requests of 10, ${concurrency} at a time`,
      fleetDay,
      await measure(() => readAll(paths, concurrency))
    )
  }

  // Everything seeded, read back as the fleet ETL would: day by day, 10 turbines a request, two at a time.
  for (const format of ["json", "columns"]) {
    const paths = Array.from({ length: days }, (_, d) => batches.map((batch) => dayQuery(d, batch, format))).flat()
    const all = await measure(() => readAll(paths, 2))
    record(
      `GET all ${turbines} × ${days} days, format=${format}: a request per day and 10 turbines, 2 at a time`,
      seeded.result,
      all
    )
    results.push([`  bytes served`, `${(all.result / 2 ** 30).toFixed(2)} GiB`, ""])
  }
} catch (error) {
  if (!(error instanceof Done)) throw error
} finally {
  await fonte.stop()
  await database.release()
}

if (!flags["no-embedded"] && !flags["seed-only"]) {
  // The embedded database (no COPY there): a farm of 10 turbines for 3 days.
  const embedded = await startFonte(undefined)
  try {
    const started = performance.now()
    const cpu0 = cpuOf(embedded.pid)
    const rows = await populate(embedded.url, { start_date: "2024-01-01", days: 3, turbines: 10 })
    const wall = performance.now() - started
    results.push([
      "embedded (PGlite): seed 10 turbines × 3 days",
      `${(wall / 1000).toFixed(2)} s, ${perSecond(rows, wall)} rows/s`,
      `fonte and PGlite ${(cpuOf(embedded.pid) - cpu0) / 1000} s`
    ])
  } finally {
    await embedded.stop()
  }
}

console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}, Postgres at ${new URL(admin).host}\n`
)
console.log("| measure | wall time, rate | CPU |")
console.log("|---|---:|---|")
for (const [label, value, cpu] of results) console.log(`| ${label} | ${value} | ${cpu} |`)
