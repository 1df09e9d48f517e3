import { afterEach, describe, expect, it, vi } from "vitest"
import * as Cli from "../src/Cli.ts"

// Bad usage is refused before any I/O: no database is needed here (the URL points nowhere).
const run = async (
  args: ReadonlyArray<string>,
  env: NodeJS.ProcessEnv = { DATABASE_URL: "postgres://nowhere:1/x" }
) => {
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
  const code = await Cli.main(["node", "delfos-etl-worker", ...args], env)
  vi.restoreAllMocks()
  return { code, stdout, stderr }
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("delfos-etl-worker (arguments)", () => {
  it("--help: exit 0, usage and examples", async () => {
    const result = await run(["--help"])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("Usage: delfos-etl-worker")
    expect(result.stdout).toContain("Examples:")
  })

  it.each([
    [["--concurrency", "0"], 'invalid --concurrency "0"'],
    [["--stale-after", "soon"], 'invalid --stale-after "soon"'],
    [["--cron", "every day"], "crontab"],
    [["--no-such-flag"], "Unknown option"],
    [["frobnicate"], 'unknown command "frobnicate"'],
    [["enqueue"], "enqueue needs --date"],
    [["enqueue", "--date", "2024-02-30"], 'invalid date "2024-02-30"'],
    [["enqueue", "--from", "2024-02-03", "--to", "2024-02-01"], "invalid range"],
    [["enqueue", "--date", "2024-01-01", "--variables", "rotor_speed"], 'unknown variable "rotor_speed"'],
    [["enqueue", "--date", "2024-01-01", "--every", "ten"], 'invalid window length "ten"'],
    [["enqueue", "--date", "2024-01-01", "--max-attempts", "0"], 'invalid --max-attempts "0"']
  ])("%j: exit 2, one line naming the problem", async (args, message) => {
    const result = await run(args)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(message)
    expect(result.stderr).not.toContain("    at ")
  })

  it("no database: exit 2, saying how to give one", async () => {
    const result = await run(["enqueue", "--date", "2024-01-01"], {})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("no database URL")
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
