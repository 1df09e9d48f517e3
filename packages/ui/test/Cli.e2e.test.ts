/**
 * `delfos-etl ui` as a user runs it: the built command, its help, a bad option in one line with exit
 * code 2, and the server on the embedded default (a scratch directory), its URL printed, its page
 * and API answering, SIGTERM ending it with exit code 0.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { existsSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const bin = join(import.meta.dirname, "..", "..", "cli", "dist", "bin.js")
const notBuilt = !existsSync(bin)

let cwd: string
const children: Array<ChildProcess> = []

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), "delfos-ui-cli-"))
})

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  await rm(cwd, { recursive: true, force: true })
})

const start = (args: ReadonlyArray<string>) => {
  const env = { ...process.env }
  delete env.DATABASE_URL
  delete env.SOURCE_API_URL
  const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
  children.push(child)
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk) => (stdout += chunk))
  child.stderr.on("data", (chunk) => (stderr += chunk))
  const exit = once(child, "exit").then(([code]) => code as number | null)
  return { child, exit, stdout: () => stdout, stderr: () => stderr }
}

describe("delfos-etl ui", () => {
  it.skipIf(notBuilt)("--help lists its options and an example", async () => {
    const run = start(["ui", "--help"])
    expect(await run.exit).toBe(0)
    for (const option of ["--port", "--host", "--database-url", "--source-url", "--pipeline", "Examples:"]) {
      expect(run.stdout()).toContain(option)
    }
    expect(run.stdout()).toMatch(/\$ delfos-etl ui/)
  })

  it.skipIf(notBuilt)("a bad --port is one line and exit code 2", async () => {
    const run = start(["ui", "--port", "99999"])
    expect(await run.exit).toBe(2)
    expect(run.stderr().trim().split("\n")).toEqual([expect.stringMatching(/^delfos-etl: invalid --port "99999"/)])
  })

  it.skipIf(notBuilt)("serves the embedded default on a free port, prints its URL, stops on SIGTERM", async () => {
    const run = start(["ui", "--data-dir", join(cwd, "data")])
    let url: string | undefined
    for (let waited = 0; url === undefined && waited < 90_000; waited += 200) {
      url = run.stdout().match(/http:\/\/127\.0\.0\.1:\d+\//)?.[0]
      if (url === undefined) await new Promise((resolve) => setTimeout(resolve, 200))
      if (run.child.exitCode !== null) break
    }
    expect(url, run.stderr()).toBeDefined()
    expect(run.stderr()).toContain("embedded database")
    const page = await fetch(url!)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain("delfos-etl ui")
    const info = (await (await fetch(`${url}api/info`)).json()) as { pipelines: Array<string> }
    expect(info.pipelines).toEqual([])
    run.child.kill("SIGTERM")
    expect(await run.exit).toBe(0)
  })
})
