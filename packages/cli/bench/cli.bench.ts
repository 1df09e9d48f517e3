/**
 * The whole job as a user runs it, in real processes: `delfos-etl` against a `delfos-etl fonte
 * serve` process, both on the machine's Postgres (DATABASE_URL names the server; the bench creates
 * and drops its own databases). Start-up (`--help` beside a bare `node -e 0`), one day end to end
 * (beside the reference's Python ETL when DELFOS_REFERENCE_DIR names it), the embedded demo, the
 * embedded fonte's start, then a year with --concurrency 4 and the CLI's peak memory.
 *
 * Run: `npm run build && npm run bench -w delfos-etl` (`-- --quick` skips the year).
 * `DELFOS_BIN=<path to a bin.js>` times another build of the command (e.g. an older commit's).
 * The reference (optional): `DELFOS_REFERENCE_DIR=<its ETL folder, where python3 -m app.main runs>`,
 * `DELFOS_REFERENCE_PYTHON` (default python3); its own environment (PYTHONPATH…) is passed through.
 */
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { TestDatabase } from "@delfos/test-utils"
import * as FonteProcess from "./FonteProcess.ts"

const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const bin = process.env.DELFOS_BIN ?? join(import.meta.dirname, "..", "dist", "bin.js")
const quick = process.argv.includes("--quick")
const referenceDir = process.env.DELFOS_REFERENCE_DIR
const python = process.env.DELFOS_REFERENCE_PYTHON ?? "python3"
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const range = (xs: ReadonlyArray<number>) => `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}`
const scratch = () => mkdtempSync(join(tmpdir(), "delfos-bench-"))

/** Runs a command to its end; wall seconds. */
const wall = (
  command: string,
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined> = {},
  cwd?: string
) => {
  const merged: Record<string, string | undefined> = { ...process.env, ...env }
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key]
  const started = performance.now()
  execFileSync(command, [...args], { env: merged, cwd, stdio: ["ignore", "pipe", "pipe"] })
  return (performance.now() - started) / 1000
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
      const seconds = (performance.now() - started) / 1000
      const rss = Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1] ?? Number.NaN) / 1024
      if (code !== 0) reject(new Error(`exit ${code}: ${stderr}`))
      else resolve({ wall: seconds, rssMiB: rss, stdout })
    })
  })

/** `delfos-etl fonte serve` on the embedded database in `cwd`: seconds from spawn to a 200 from /health. */
const embeddedFonteStart = async (cwd: string) => {
  const env = { ...process.env }
  delete env.DATABASE_URL
  delete env.FONTE_DATABASE_URL
  const started = performance.now()
  const child = spawn(process.execPath, [bin, "fonte", "serve", "--port", "0"], {
    env,
    cwd,
    stdio: ["ignore", "pipe", "pipe"]
  })
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let text = ""
      const onData = (chunk: Buffer) => {
        text += chunk.toString()
        const match = /Listening on (http:\/\/[\d.]+:\d+)/.exec(text)
        if (match) resolve(match[1]!)
      }
      child.stdout.on("data", onData)
      child.stderr.on("data", onData)
      child.on("exit", (code) => reject(new Error(`fonte exited ${code}: ${text}`)))
    })
    while ((await fetch(`${url}/health`).catch(() => undefined))?.status !== 200) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    return (performance.now() - started) / 1000
  } finally {
    child.kill("SIGTERM")
    if (child.exitCode === null) await new Promise((resolve) => child.on("exit", resolve))
  }
}

const results: Array<[string, string]> = []

// Start-up: the parser alone, beside Node itself.
const node: Array<number> = []
const help: Array<number> = []
for (let i = 0; i < 15; i++) {
  node.push(wall(process.execPath, ["-e", "0"]))
  help.push(wall(process.execPath, [bin, "--help"]))
}
results.push(["`node -e 0`, median of 15", `${median(node).toFixed(3)} s`])
results.push([
  "`delfos-etl --help`, median of 15",
  `${median(help).toFixed(3)} s (${((median(help) - median(node)) * 1000).toFixed(0)} ms above node)`
])

// The embedded demo and the embedded fonte, each in a fresh directory (as a first run is).
const demo: Array<number> = []
for (let i = 0; i < 3; i++) {
  const cwd = scratch()
  demo.push(wall(process.execPath, [bin, "demo"], { DATABASE_URL: undefined, SOURCE_API_URL: undefined }, cwd))
  rmSync(cwd, { recursive: true, force: true })
}
results.push(["`delfos-etl demo` (embedded, 3 days), median of 3", `${median(demo).toFixed(2)} s (${range(demo)})`])
const fresh: Array<number> = []
const reopened: Array<number> = []
for (let i = 0; i < 3; i++) {
  const cwd = scratch()
  fresh.push(await embeddedFonteStart(cwd))
  reopened.push(await embeddedFonteStart(cwd))
  rmSync(cwd, { recursive: true, force: true })
}
results.push([
  "`delfos-etl fonte serve` (embedded) to a 200 from /health, new data directory, median of 3",
  `${median(fresh).toFixed(2)} s (${range(fresh)})`
])
results.push([
  "the same, its data directory there already, median of 3",
  `${median(reopened).toFixed(2)} s (${range(reopened)})`
])

// Two fresh databases on the server (and a third for the reference), dropped at the end.
const fonteDatabase = await TestDatabase.acquirePostgres(admin)
const alvo = await TestDatabase.acquirePostgres(admin)
const reference = referenceDir === undefined ? undefined : await TestDatabase.acquirePostgres(admin)
const fonte = await FonteProcess.start(bin, fonteDatabase.url)
try {
  const fonteUrl = fonte.url
  const env = { DATABASE_URL: alvo.url, SOURCE_API_URL: `${fonteUrl}/api/v1` }
  wall(process.execPath, [bin, "fonte", "seed", "--start-date", "2023-01-01", "--days", "365", "--url", fonteUrl])
  wall(process.execPath, [bin, "migrate"], env)
  if (reference !== undefined) {
    // The reference's target schema, as its migration creates it (naive timestamps, its own key).
    await TestDatabase.query(reference.url, "CREATE TABLE signal (id serial PRIMARY KEY, name varchar NOT NULL UNIQUE)")
    await TestDatabase.query(
      reference.url,
      `CREATE TABLE data (timestamp timestamp NOT NULL, signal_id integer NOT NULL REFERENCES signal (id),
         value double precision, PRIMARY KEY (timestamp, signal_id),
         CONSTRAINT uix_timestamp_signal UNIQUE (timestamp, signal_id))`
    )
  }
  const referenceEnv =
    reference === undefined
      ? {}
      : {
          DATABASE_URL: reference.url.replace(/^postgres(ql)?:/, "postgresql+psycopg:"),
          SOURCE_API_URL: `${fonteUrl}/api/v1`
        }

  // One day end to end, ours and the reference's in turn (the machine is shared: same conditions).
  const ours: Array<number> = []
  const theirs: Array<number> = []
  for (let i = 0; i < 11; i++) {
    const date = `2023-06-${String(1 + (i % 28)).padStart(2, "0")}`
    ours.push(wall(process.execPath, [bin, "--date", date], env))
    if (referenceDir !== undefined)
      theirs.push(wall(python, ["-m", "app.main", "--date", date], referenceEnv, referenceDir))
  }
  results.push([
    "one day end to end (process start to exit), median of 11",
    `${median(ours).toFixed(3)} s (${range(ours)})`
  ])
  if (referenceDir !== undefined) {
    results.push([
      "the reference's Python ETL, the same days in turn, median of 11",
      `${median(theirs).toFixed(3)} s (${range(theirs)}): ours ${(median(theirs) / median(ours)).toFixed(1)}× faster`
    ])
  }

  if (!quick) {
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
  }
  console.log(
    `node ${process.version}, ${cpus()[0]?.model ?? "cpu"} x${cpus().length}, Postgres at ${new URL(admin).host}, ${bin}\n`
  )
  console.log("| measure | result |")
  console.log("|---|---|")
  for (const [label, value] of results) console.log(`| ${label} | ${value} |`)
} finally {
  await fonte.stop()
  await fonteDatabase.release()
  await alvo.release()
  await reference?.release()
}
