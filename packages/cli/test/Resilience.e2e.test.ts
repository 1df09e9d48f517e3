import { spawn } from "node:child_process"
import { once } from "node:events"
import { TestDatabase, TestFonte } from "@delfos/test-utils"
import { PgClient } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as SqlClient from "effect/sql/SqlClient"
import { afterAll, describe, expect, it } from "vitest"
import * as CliProcess from "./CliProcess.ts"

// The target's connections dropped under a running `run` (pg_terminate_backend), as a failover or
// a DBA would: the pool reconnects, a failure stays with its partition, and the run goes on.
const target = await TestDatabase.acquire()
const fonte = target.kind === "pglite" ? undefined : await TestFonte.start({ startDate: "2024-01-01", days: 40 })
const { environment, cwd } = CliProcess.make(() => ({ databaseUrl: target.url, sourceUrl: fonte!.apiUrl }))
const query = <A extends object>(statement: string) => TestDatabase.query<A>(target.url, statement)

afterAll(async () => {
  await fonte?.close()
  await target.release()
})

/**
 * Locks `table` in a transaction of our own, waits until one of the CLI's statements waits for it,
 * then terminates every other backend on the database (the CLI's whole pool) and lets go.
 */
const terminateWhileWaitingOn = (table: "etl_run" | "data") =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* sql.unsafe(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`)
          for (let i = 0; i < 200; i++) {
            // pg_stat_activity is read once per transaction unless its snapshot is cleared.
            yield* sql`SELECT pg_stat_clear_snapshot()`
            const [waiting] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE wait_event_type = 'Lock' AND datname = current_database() AND pid <> pg_backend_pid()`
            if ((waiting?.n ?? 0) > 0) break
            yield* Effect.sleep(25)
          }
          const terminated = yield* sql<{ done: boolean }>`SELECT pg_terminate_backend(pid) AS done
            FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`
          return terminated.filter((row) => row.done).length
        })
      )
    }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(target.url), maxConnections: 1 })), Effect.scoped)
  )

describe("delfos-etl run, its database connections dropped midway", () => {
  it.skipIf(target.kind === "pglite")(
    "attempts every day, fails only the partitions hit, says so, exits 1, leaves no run `running` (needs a Postgres server: PGlite has no pg_terminate_backend)",
    async () => {
      const child = spawn(
        process.execPath,
        [
          CliProcess.bin,
          "run",
          "--pipeline",
          "resilient",
          "--from",
          "2024-01-01",
          "--to",
          "2024-02-09",
          "--concurrency",
          "2"
        ],
        { env: environment(), cwd, stdio: ["ignore", "pipe", "pipe"] }
      )
      CliProcess.killAfterTest(child)
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
      const exited = once(child, "exit")
      // A day's line: on stdout when it succeeded, on stderr when it failed.
      const reported = () => (`${stdout}\n${stderr}`.match(/^\d{4}-\d{2}-\d{2} {2}\w+/gm) ?? []).length
      const after = async (days: number) => {
        while (reported() < days && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 5))
      }
      // First while a ledger write waits (the run used to stop there), then at once while a load
      // does (waiting for more days first could find the run already over on a fast machine).
      await after(5)
      expect(await terminateWhileWaitingOn("etl_run")).toBeGreaterThan(0)
      expect(await terminateWhileWaitingOn("data"), `${stdout}\n${stderr}`).toBeGreaterThan(0)
      const [code] = await exited

      expect(reported(), stderr).toBe(40)
      const summary = /^40 days: (\d+) succeeded(?:, (\d+) failed)? · /m.exec(stdout)
      expect(summary, stdout).not.toBeNull()
      const [succeeded, failed] = [Number(summary![1]), Number(summary![2] ?? 0)]
      expect(succeeded + failed).toBe(40)
      // The load that waited was cut off: its partition failed, and only it.
      expect(failed).toBeGreaterThanOrEqual(1)
      expect(code).toBe(1)
      expect(stderr).toMatch(/^\d{4}-\d{2}-\d{2} {2}failed {5}.*(sink unavailable|loading .* failed)/m)

      const latest = await query<{ day: string; status: string }>(
        `SELECT DISTINCT ON (partition_day) partition_day::text AS day, status FROM etl_run
        WHERE pipeline = 'resilient' ORDER BY partition_day, attempt DESC`
      )
      expect(latest.length).toBe(40)
      expect(latest.filter((run) => run.status === "failed").length).toBe(failed)
      expect(latest.filter((run) => run.status === "succeeded").length).toBe(succeeded)
      expect(await query("SELECT id FROM etl_run WHERE status = 'running'")).toEqual([])
    },
    60_000
  )
})
