/**
 * A year's backfill as a user runs it: `delfos-etl backfill` processes with concurrency 1, 2 and 4
 * against a `delfos-etl fonte serve` process, both on the machine's Postgres, each into a fresh
 * target; with where the time goes (source, transform, load) summed from the run reports.
 * Run: `npm run build && node bench/backfill.bench.ts` from packages/cli (DATABASE_URL names the server).
 */
import { execFileSync } from "node:child_process"
import { cpus } from "node:os"
import { join } from "node:path"
import type { Backfill } from "@delfos/etl"
import { TestDatabase } from "@delfos/test-utils"
import * as FonteProcess from "./FonteProcess.ts"

const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const bin = join(import.meta.dirname, "..", "dist", "bin.js")

const fonteDatabase = await TestDatabase.acquirePostgres(admin)
const fonte = await FonteProcess.start(bin, fonteDatabase.url)
try {
  const fonteUrl = fonte.url
  execFileSync(process.execPath, [
    bin,
    "fonte",
    "seed",
    "--start-date",
    "2023-01-01",
    "--days",
    "365",
    "--url",
    fonteUrl
  ])

  console.log(
    `node ${process.version}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}, Postgres at ${new URL(admin).host}\n`
  )
  console.log("| backfill of 365 days | wall time | partitions/s | source, per partition | transform | load |")
  console.log("|---|---:|---:|---:|---:|---:|")
  for (const concurrency of [1, 2, 4]) {
    const target = await TestDatabase.acquirePostgres(admin)
    try {
      const env = { ...process.env, DATABASE_URL: target.url, SOURCE_API_URL: `${fonteUrl}/api/v1` }
      execFileSync(process.execPath, [bin, "migrate"], { env, stdio: "ignore" })
      const started = performance.now()
      const output = execFileSync(
        process.execPath,
        [bin, "backfill", "--from", "2023-01-01", "--to", "2023-12-31", "--concurrency", String(concurrency), "--json"],
        { env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 * 2 ** 20 }
      )
      const wall = (performance.now() - started) / 1000
      const summary = JSON.parse(output) as Backfill.Summary
      if (summary.succeeded !== 365) throw new Error(`${summary.failed} partitions failed`)
      // Busy time per phase, summed over partitions; with concurrency the phases overlap in time.
      const sum = (pick: (timings: { extractMs: number; transformMs: number; loadMs: number }) => number) =>
        summary.reports.reduce((total, report) => total + (report.timings === undefined ? 0 : pick(report.timings)), 0)
      const [extract, transform, load] = [sum((t) => t.extractMs), sum((t) => t.transformMs), sum((t) => t.loadMs)]
      const busy = extract + transform + load
      const phase = (ms: number) => `${(ms / 365).toFixed(2)} ms (${((100 * ms) / busy).toFixed(0)}%)`
      console.log(
        `| --concurrency ${concurrency} | ${wall.toFixed(2)} s | ${(365 / wall).toFixed(0)} | ${phase(extract)} | ${phase(transform)} | ${phase(load)} |`
      )
    } finally {
      await target.release()
    }
  }
  console.log(
    "\nPer partition: mean time in each phase, and its share of the three (with concurrency, phases of different partitions overlap)."
  )
} finally {
  await fonte.stop()
  await fonteDatabase.release()
}
