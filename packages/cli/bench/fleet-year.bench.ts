/**
 * A fleet-year as a user runs it: `delfos-etl fonte seed` of 100 turbines × 365 days straight into
 * the fonte's Postgres, a `delfos-etl fonte serve` process over it, then one `delfos-etl run
 * --turbines all` process for the year into a fresh target: seeding time and rate, the ETL's wall
 * time, rows/s and peak RSS (from /usr/bin/time), and the rows checked in the target.
 * Run: `npm run build && node bench/fleet-year.bench.ts [--turbines 100] [--days 365]
 * [--concurrency 2] [--batch-size 25]` from packages/cli (DATABASE_URL names the server).
 */
import { execFileSync, spawnSync } from "node:child_process"
import { cpus } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { TestDatabase } from "@delfos/test-utils"
import * as FonteProcess from "./FonteProcess.ts"

const { values } = parseArgs({
  options: {
    turbines: { type: "string", default: "100" },
    days: { type: "string", default: "365" },
    concurrency: { type: "string", default: "2" },
    "batch-size": { type: "string", default: "25" }
  }
})
const turbines = Number(values.turbines)
const days = Number(values.days)
const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const bin = join(import.meta.dirname, "..", "dist", "bin.js")
const start = "2023-01-01"
const last = new Date(Date.parse(start) + (days - 1) * 86_400_000).toISOString().slice(0, 10)

console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}, Postgres at ${new URL(admin).host}; ` +
    `${turbines} turbines × ${days} days, --concurrency ${values.concurrency} --batch-size ${values["batch-size"]}\n`
)
const fonteDatabase = await TestDatabase.acquirePostgres(admin)
const target = await TestDatabase.acquirePostgres(admin)
try {
  let started = performance.now()
  const seeded = execFileSync(
    process.execPath,
    [bin, "fonte", "seed", "--start-date", start, "--days", String(days), "--turbines", String(turbines)],
    { env: { ...process.env, FONTE_DATABASE_URL: fonteDatabase.url }, encoding: "utf8" }
  )
  const seedWall = (performance.now() - started) / 1000
  console.log(`seed: ${seeded.trim()} (process wall ${seedWall.toFixed(1)} s)`)

  const fonte = await FonteProcess.start(bin, fonteDatabase.url)
  try {
    const env = { ...process.env, DATABASE_URL: target.url, SOURCE_API_URL: `${fonte.url}/api/v1` }
    execFileSync(process.execPath, [bin, "migrate"], { env, stdio: "ignore" })
    started = performance.now()
    // /usr/bin/time -f: wall seconds and the peak resident set (KiB) of the run's process.
    const timed = spawnSync(
      "/usr/bin/time",
      [
        "-f",
        "%e %M",
        process.execPath,
        bin,
        "run",
        "--from",
        start,
        "--to",
        last,
        "--turbines",
        "all",
        "--concurrency",
        String(values.concurrency),
        "--batch-size",
        String(values["batch-size"])
      ],
      { env, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"], maxBuffer: 256 * 2 ** 20 }
    )
    const wall = (performance.now() - started) / 1000
    if (timed.status !== 0) throw new Error(`the run exited ${timed.status}: ${timed.stderr.slice(-2000)}`)
    const [, peakKiB] = timed.stderr.trim().split("\n").at(-1)!.split(" ").map(Number)
    const rows = (await TestDatabase.query<{ rows: number }>(target.url, "SELECT count(*)::int AS rows FROM data"))[0]!
      .rows
    const runs = (
      await TestDatabase.query<{ runs: number }>(
        target.url,
        "SELECT count(*)::int AS runs FROM etl_run WHERE status = 'succeeded' OR status = 'degraded'"
      )
    )[0]!.runs
    if (runs !== turbines * days) throw new Error(`${turbines * days - runs} turbine-days not loaded`)
    console.log(
      `etl: ${runs} turbine-days, ${rows.toLocaleString("en")} rows in ${wall.toFixed(1)} s: ` +
        `${Math.round(rows / wall).toLocaleString("en")} rows/s, ${Math.round((turbines * days * 1440) / wall).toLocaleString("en")} samples/s; ` +
        `peak RSS ${(peakKiB! / 1024).toFixed(0)} MiB`
    )
  } finally {
    await fonte.stop()
  }
} finally {
  await target.release()
  await fonteDatabase.release()
}
