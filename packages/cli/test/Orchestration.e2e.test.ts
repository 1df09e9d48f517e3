import { once } from "node:events"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { TestDatabase, TestFonte } from "@delfos/test-utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as CliProcess from "./CliProcess.ts"

// backfill, status and schedule as processes, against the fonte server and real Postgres.
let target: TestDatabase.Handle
let fonte: TestFonte.Handle

const { run: cli, spawn: cliSpawn } = CliProcess.make(() => ({ databaseUrl: target.url, sourceUrl: fonte.apiUrl }))
const query = <A extends object>(statement: string) => TestDatabase.query<A>(target.url, statement)

const states = async (pipeline: string, from: string, to: string, extra: ReadonlyArray<string> = []) => {
  const result = await cli(["status", "--pipeline", pipeline, "--from", from, "--to", to, "--json", ...extra])
  expect(result.code).toBe(0)
  return JSON.parse(result.stdout) as Array<{ day: string; status: string; attempts: number; lastError: string | null }>
}

beforeAll(async () => {
  target = await TestDatabase.acquire()
  fonte = await TestFonte.start({ startDate: "2024-01-01", days: 20 })
}, 60_000)

afterAll(async () => {
  await fonte?.close()
  await target?.release()
})

describe("delfos-etl backfill", () => {
  it("runs what is missing with bounded concurrency; run again, there is nothing left", async () => {
    const first = await cli([
      "backfill",
      "--pipeline",
      "bf",
      "--from",
      "2024-01-01",
      "--to",
      "2024-01-06",
      "--concurrency",
      "2"
    ])
    expect(first.code).toBe(0)
    expect(first.stdout).toContain("6 of 6 days to run")
    expect(first.stdout).toMatch(/backfill: 6 succeeded, 0 failed, 0 skipped, 0 retries/)
    expect((await states("bf", "2024-01-01", "2024-01-06")).every((state) => state.status === "succeeded")).toBe(true)
    const again = await cli(["backfill", "--pipeline", "bf", "--from", "2024-01-01", "--to", "2024-01-06"])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain("0 of 6 days to run (6 skipped: not missing or failed)")
  })

  it("retries a failing day up to --max-attempts, then exits 1 with the day failed in the ledger", async () => {
    // The fonte, except that 2024-01-03 always answers 503.
    const proxy = createServer(async (request, response) => {
      if (request.url?.includes("start_date=2024-01-03")) {
        response.writeHead(503, { "content-type": "application/json" }).end('{"detail":"maintenance"}')
        return
      }
      const upstream = await fetch(`${fonte.url}${request.url}`)
      response.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text())
    })
    proxy.listen(0, "127.0.0.1")
    await once(proxy, "listening")
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/api/v1`
      const result = await cli(
        ["backfill", "--pipeline", "flaky", "--from", "2024-01-02", "--to", "2024-01-04", "--max-attempts", "2"],
        { SOURCE_API_URL: url }
      )
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("2024-01-03 attempt 1 failed, retrying")
      expect(result.stdout).toMatch(/backfill: 2 succeeded, 1 failed, 0 skipped, 1 retries/)
      const days = await states("flaky", "2024-01-02", "2024-01-04")
      expect(days.map((day) => [day.day, day.status, day.attempts])).toEqual([
        ["2024-01-02", "succeeded", 1],
        ["2024-01-03", "failed", 2],
        ["2024-01-04", "succeeded", 1]
      ])
      expect(days[1]!.lastError).toContain("503")
    } finally {
      proxy.close()
    }
  }, 60_000)

  it("killed (SIGKILL) midway, the same command afterwards does only what is left", async () => {
    const args = [
      "backfill",
      "--pipeline",
      "resume",
      "--from",
      "2024-01-01",
      "--to",
      "2024-01-16",
      "--max-requests-per-second",
      "8",
      "--heartbeat-interval",
      "1"
    ]
    const running = cliSpawn(args)
    // Wait for a few days to be done, then kill it without warning.
    await running.waitFor(/(succeeded[\s\S]*){4}/)
    running.child.kill("SIGKILL")
    await running.exit
    // The day it was running stays `running` until its heartbeat is older than --stale-after: then
    // it was abandoned, and counts as failed.
    const staleAfter = ["--stale-after", "2"]
    let before = await states("resume", "2024-01-01", "2024-01-16", staleAfter)
    for (let i = 0; i < 50 && before.some((state) => state.status === "running"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      before = await states("resume", "2024-01-01", "2024-01-16", staleAfter)
    }
    const done = before.filter((state) => state.status === "succeeded").length
    expect(done).toBeGreaterThanOrEqual(4)
    expect(done).toBeLessThan(16)
    for (const state of before.filter((state) => state.status === "failed")) {
      expect(state.lastError).toMatch(/^abandoned: [^ ]+:\d+ stopped without a result/)
    }
    const rest = await cli([
      "backfill",
      "--pipeline",
      "resume",
      "--from",
      "2024-01-01",
      "--to",
      "2024-01-16",
      "--concurrency",
      "4",
      ...staleAfter
    ])
    expect(rest.code).toBe(0)
    expect(rest.stdout).toContain(`${16 - done} of 16 days to run`)
    const after = await states("resume", "2024-01-01", "2024-01-16")
    expect(after.every((state) => state.status === "succeeded")).toBe(true)
    const perDay = await query<{ n: number }>(
      "SELECT count(*)::int AS n FROM data WHERE timestamp >= '2024-01-01' AND timestamp < '2024-01-17' GROUP BY date_trunc('day', timestamp)"
    )
    expect(perDay.map((row) => row.n)).toEqual(new Array(16).fill(1152))
  }, 60_000)

  it("refuses bad orchestration options with exit 2", async () => {
    for (const [args, message] of [
      [["backfill", "--from", "2024-01-01", "--only", "done"], 'invalid --only "done"'],
      [["backfill", "--from", "2024-01-01", "--max-attempts", "0"], 'invalid --max-attempts "0"'],
      [
        ["backfill", "--from", "2024-01-01", "--max-requests-per-second", "-1"],
        'invalid --max-requests-per-second "-1"'
      ],
      [["schedule"], "schedule needs --start-day"],
      [["schedule", "--start-day", "2024-01-01", "--cron", "every day"], 'invalid cron "every day"'],
      [
        ["backfill", "--from", "2024-01-01", "--heartbeat-interval", "10", "--stale-after", "10"],
        "--stale-after (10s) must be longer than --heartbeat-interval (10s)"
      ]
    ] as const) {
      const result = await cli(args)
      expect(result.code, args.join(" ")).toBe(2)
      expect(result.stderr).toContain(message)
    }
  })
})

describe("delfos-etl schedule", () => {
  it("catches up at once, waits for the next tick, and stops cleanly on SIGTERM", async () => {
    // Three days before today: nothing in the fonte for them, so they end empty.
    const startDay = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10)
    const schedule = cliSpawn(["schedule", "--pipeline", "scheduled", "--start-day", startDay])
    await schedule.waitFor(/next tick at/)
    const output = schedule.stdout()
    expect(output).toMatch(/tick at .*: 3 partitions due/)
    expect(output).toContain("3 to run, 0 already done")
    schedule.child.kill("SIGTERM")
    expect(await schedule.exit).toBe(0)
    const days = await states("scheduled", startDay, new Date(Date.now() - 86_400_000).toISOString().slice(0, 10))
    expect(days.map((day) => day.status)).toEqual(["empty", "empty", "empty"])
    expect(output).toMatch(/ {2}\d{4}-\d{2}-\d{2} {2}empty {6}no samples from the source: nothing loaded/)
  }, 60_000)
})

describe("delfos-etl backfill --distributed and delfos-etl worker", () => {
  it.skipIf(TestDatabase.onPglite)(
    "queues one job per day (never twice), and worker processes run them [skipped on PGlite: the job queue needs a Postgres server: LISTEN/NOTIFY, several connections]",
    async () => {
      const enqueue = ["backfill", "--pipeline", "dist", "--from", "2024-01-10", "--to", "2024-01-13", "--distributed"]
      const queued = await cli(enqueue)
      expect(queued.code).toBe(0)
      expect(queued.stdout).toContain(
        'queued 4 of 4 days to run (0 already queued, 0 requeued; 0 skipped: not missing or failed) for pipeline "dist"'
      )
      const again = await cli(enqueue)
      expect(again.stdout).toContain("queued 0 of 4 days to run (4 already queued")
      const worker = cliSpawn(["worker", "--concurrency", "2"])
      try {
        const deadline = Date.now() + 30_000
        let days = await states("dist", "2024-01-10", "2024-01-13")
        while (days.some((day) => day.status !== "succeeded") && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 200))
          days = await states("dist", "2024-01-10", "2024-01-13")
        }
        expect(days.map((day) => [day.day, day.status, day.attempts])).toEqual([
          ["2024-01-10", "succeeded", 1],
          ["2024-01-11", "succeeded", 1],
          ["2024-01-12", "succeeded", 1],
          ["2024-01-13", "succeeded", 1]
        ])
      } finally {
        worker.child.kill("SIGTERM")
      }
      expect(await worker.exit).toBe(0)
    },
    60_000
  )
})
