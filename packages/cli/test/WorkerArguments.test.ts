import { afterEach, describe, expect, it, vi } from "vitest"
import { main } from "../src/Cli.ts"

// `delfos-etl worker` and `worker enqueue` refuse bad usage before any I/O: no database is needed
// here (the URL points nowhere). In process, through `main`, as the bin calls it.
const run = async (args: ReadonlyArray<string>, env: Record<string, string | undefined> = {}) => {
  vi.stubEnv("DATABASE_URL", "postgres://nowhere:1/x")
  vi.stubEnv("SOURCE_API_URL", undefined)
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value)
  let stdout = ""
  let stderr = ""
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk)
    return true
  })
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk)
    return true
  })
  try {
    const code = await main(["node", "delfos-etl", "worker", ...args])
    return { code, stdout, stderr }
  } finally {
    vi.restoreAllMocks()
    vi.unstubAllEnvs()
  }
}

afterEach(() => {
  vi.restoreAllMocks()
  vi.unstubAllEnvs()
})

describe("delfos-etl worker (arguments)", () => {
  it("--help: exit 0, the commands and examples", async () => {
    const result = await run(["--help"])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("Usage: delfos-etl worker")
    expect(result.stdout).toMatch(/^ {2}run \[options\]/m)
    expect(result.stdout).toMatch(/^ {2}enqueue \[options\]/m)
    expect(result.stdout).toContain("Examples:")
  })

  it.each([
    [["--concurrency", "0"], 'invalid --concurrency "0"'],
    [["--stale-after", "soon"], 'invalid --stale-after "soon"'],
    [
      ["--heartbeat-interval", "10", "--stale-after", "5"],
      "--stale-after (5s) must be longer than --heartbeat-interval"
    ],
    [["--poll-interval", "-1"], 'invalid --poll-interval "-1"'],
    [["--cron", "every day", "--start-day", "2024-01-01"], 'invalid cron "every day"'],
    [["--cron"], "--cron needs --start-day"],
    [["--no-such-flag"], 'unknown option "--no-such-flag"'],
    [["frobnicate"], 'unknown command "frobnicate"'],
    [["enqueue"], "which days? give --date"],
    [["enqueue", "--date", "2024-02-30"], 'invalid date "2024-02-30"'],
    [["enqueue", "--from", "2024-02-03", "--to", "2024-02-01"], "invalid range"],
    [["enqueue", "--date", "2024-01-01", "--variables", "rotor_speed"], 'unknown variable "rotor_speed"'],
    [["enqueue", "--date", "2024-01-01", "--every", "ten"], 'invalid window length "ten"'],
    [["enqueue", "--date", "2024-01-01", "--max-attempts", "0"], 'invalid --max-attempts "0"'],
    [["enqueue", "--date", "2024-01-01", "--pipeline", "a:b"], 'invalid --pipeline "a:b"']
  ])("%j: exit 2, one line naming the problem", async (args, message) => {
    const result = await run(args)
    expect(result.code).toBe(2)
    const lines = result.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^delfos-etl: /)
    expect(lines[0]).toContain(message)
  })

  it("no database: exit 2, saying the queue needs Postgres and how to give it", async () => {
    const result = await run(["enqueue", "--date", "2024-01-01"], { DATABASE_URL: undefined })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("the job queue needs a Postgres database")
    expect(result.stderr).toContain("--database-url or DATABASE_URL")
  })

  it("a database that does not answer: exit 1, naming it without credentials", async () => {
    const result = await run(["enqueue", "--date", "2024-01-01"], {
      DATABASE_URL: "postgres://someone:secret@127.0.0.1:1/alvo"
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("job queue unavailable at postgres://someone@127.0.0.1:1/alvo")
    expect(result.stderr).not.toContain("secret")
  })
})
