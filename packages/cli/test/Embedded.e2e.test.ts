import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { TestFonte } from "@delfos/test-utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as CliProcess from "./CliProcess.ts"

// The CLI on its embedded default, as a user without Postgres runs it: no DATABASE_URL at all,
// its own .delfos/ in a fresh working directory. Each test has a directory (a database) of its own.
let fonte: TestFonte.Handle

beforeAll(async () => {
  fonte = await TestFonte.start({ startDate: "2024-01-01", days: 7 })
}, 120_000)

afterAll(async () => {
  await fonte?.close()
})

const user = () =>
  CliProcess.make(
    () => ({ databaseUrl: undefined, sourceUrl: fonte.apiUrl }),
    mkdtempSync(join(tmpdir(), "delfos-embedded-"))
  )

describe("delfos-etl on the embedded database (no DATABASE_URL)", () => {
  it("run --concurrency 4, then status: every day succeeded, said to be on the embedded database", async () => {
    const { run } = user()
    const result = await run(["run", "--from", "2024-01-01", "--to", "2024-01-07", "--concurrency", "4"])
    expect(result.stderr).toContain("using the embedded database in .delfos/alvo/")
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^7 days: 7 succeeded · 8,064 rows/m)
    const status = await run(["status", "--json"])
    expect(status.code).toBe(0)
    const states = JSON.parse(status.stdout) as Array<{ day: string; status: string }>
    expect(states.filter((state) => state.status === "succeeded").map((state) => state.day)).toEqual([
      "2024-01-01",
      "2024-01-02",
      "2024-01-03",
      "2024-01-04",
      "2024-01-05",
      "2024-01-06",
      "2024-01-07"
    ])
    const calendar = await run(["status"])
    expect(calendar.stdout).toContain("■ succeeded 7")
    expect(calendar.stdout).toMatch(/^ {5}2024$/m)
  })

  it("backfill: what is missing, then nothing left", async () => {
    const { run } = user()
    expect((await run(["--date", "2024-01-02"])).code).toBe(0)
    const first = await run(["backfill", "--from", "2024-01-01", "--to", "2024-01-04", "--concurrency", "2"])
    expect(first.code).toBe(0)
    expect(first.stdout).toContain("3 of 4 days to run (1 skipped: not missing or failed)")
    expect(first.stdout).toMatch(/backfill: 3 succeeded, 0 failed, 1 skipped, 0 retries/)
    const again = await run(["backfill", "--from", "2024-01-01", "--to", "2024-01-04"])
    expect(again.stdout).toContain("0 of 4 days to run")
  })

  it("schedule: catches up, waits for the next tick, stops on SIGTERM with exit 0", async () => {
    const { spawn } = user()
    // Days before today: nothing in the fonte for them, so they end empty.
    const startDay = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10)
    const schedule = spawn(["schedule", "--start-day", startDay])
    await schedule.waitFor(/next tick at/, 60_000)
    expect(schedule.stdout()).toContain("2 to run, 0 already done")
    schedule.child.kill("SIGTERM")
    expect(await schedule.exit).toBe(0)
  }, 90_000)

  it("demo: the whole job, nothing configured", async () => {
    const { run } = user()
    const result = await run(["demo", "--days", "2"], { SOURCE_API_URL: undefined })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("2024-01-01  succeeded  1,440 samples  144 windows  1,152 rows")
    expect(result.stdout).toContain("target: 2,304 rows in 8 signals")
  }, 90_000)
})
