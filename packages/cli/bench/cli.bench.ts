/**
 * The whole job as a user runs it: `delfos-etl` processes against a `delfos-etl fonte serve`
 * process, both on the machine's Postgres (DATABASE_URL names the server; the bench creates and
 * drops its own two databases). One day end to end, then a year with --concurrency 4, with the
 * CLI's peak memory (GNU time's maximum resident set size).
 * Run: `npm run bench -w delfos-etl` (builds nothing: run `npm run build` first).
 */
import { execFileSync, spawn } from "node:child_process"
import { cpus } from "node:os"
import { join } from "node:path"
import { TestDatabase } from "@delfos/test-utils"
import * as FonteProcess from "./FonteProcess.ts"

const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const bin = join(import.meta.dirname, "..", "dist", "bin.js")
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Runs the CLI under GNU time; returns wall seconds and peak RSS in MiB. */
const timed = (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const started = performance.now()
  const output = execFileSync("/usr/bin/time", ["-f", "maxrss_kb=%M", process.execPath, bin, ...args], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"]
  })
  const wall = (performance.now() - started) / 1000
  return { wall, output }
}

const timedWithMemory = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<{ wall: number; rssMiB: number; stdout: string }>((resolve, reject) => {
    const started = performance.now()
    const child = spawn("/usr/bin/time", ["-f", "maxrss_kb=%M", process.execPath, bin, ...args], {
      env: { ...process.env, ...env }
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("exit", (code) => {
      const wall = (performance.now() - started) / 1000
      const rss = Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1] ?? Number.NaN) / 1024
      if (code !== 0) reject(new Error(`exit ${code}: ${stderr}`))
      else resolve({ wall, rssMiB: rss, stdout })
    })
  })

// Two fresh databases of their own on that server, dropped at the end.
const fonteDatabase = await TestDatabase.acquirePostgres(admin)
const alvo = await TestDatabase.acquirePostgres(admin)
const fonte = await FonteProcess.start(bin, fonteDatabase.url)
try {
  const fonteUrl = fonte.url
  const env = { DATABASE_URL: alvo.url, SOURCE_API_URL: `${fonteUrl}/api/v1` }
  timed(["fonte", "seed", "--start-date", "2023-01-01", "--days", "365", "--url", fonteUrl], {})
  timed(["migrate"], env)

  const results: Array<[string, string]> = []
  const day: Array<number> = []
  for (let i = 0; i < 11; i++) day.push(timed(["--date", `2023-06-${String(1 + (i % 28)).padStart(2, "0")}`], env).wall)
  results.push(["one day end to end (process start to exit), median of 11", `${median(day).toFixed(3)} s`])

  for (const strategy of ["year into an empty target", "the same year again (every row already there)"]) {
    const year = await timedWithMemory(
      ["run", "--from", "2023-01-01", "--to", "2023-12-31", "--concurrency", "4", "--json"],
      env
    )
    const reports = JSON.parse(year.stdout) as Array<{ status: string; rowsWritten: number; durationMs: number }>
    const rows = reports.reduce((total, report) => total + report.rowsWritten, 0)
    const failed = reports.filter((report) => report.status !== "succeeded").length
    results.push([
      `365 days, --concurrency 4, ${strategy}`,
      `${year.wall.toFixed(2)} s wall, ${rows.toLocaleString("en-US")} rows (${(rows / year.wall / 1000).toFixed(0)}k rows/s end to end), peak RSS ${year.rssMiB.toFixed(0)} MiB${failed > 0 ? `, ${failed} FAILED` : ""}`
    ])
  }
  console.log(
    `node ${process.version}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}, Postgres at ${new URL(admin).host}\n`
  )
  console.log("| measure | result |")
  console.log("|---|---|")
  for (const [label, value] of results) console.log(`| ${label} | ${value} |`)
} finally {
  await fonte.stop()
  await fonteDatabase.release()
  await alvo.release()
}
