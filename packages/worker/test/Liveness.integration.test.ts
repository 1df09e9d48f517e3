import { Partition } from "@delfos/etl"
import { TestDatabase } from "@delfos/test-utils"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Enqueue from "../src/Enqueue.ts"
import * as Liveness from "../src/Liveness.ts"
import { jobsOf, needsPostgres, type QueueDatabase, queueDatabase } from "./support.ts"

let db: QueueDatabase

const day = (n: number) => Partition.addDays(Partition.Day.make("2024-01-01"), n)

/** Locks the job of day `n` to `pool`, `ago` in the past, as graphile-worker does when a worker takes it. */
const lock = (n: number, pool: string, ago: string) =>
  db.query(
    `UPDATE graphile_worker._private_jobs SET locked_by = '${pool}', locked_at = now() - interval '${ago}',
      attempts = attempts + 1
    WHERE key = 'alive:UTC:${day(n)}'`
  )

/** A run of day `n` by `pool` in the ledger: started and last heard of `ago`. */
const run = (n: number, pool: string, status: string, started: string, heartbeat: string, attempt = 1) =>
  db.query(
    `INSERT INTO etl_run (pipeline, partition_day, time_zone, status, attempt, runner, started_at, heartbeat_at, finished_at)
    VALUES ('alive', '${day(n)}', 'UTC', '${status}', ${attempt}, '${pool}', now() - interval '${started}',
      now() - interval '${heartbeat}', ${status === "running" ? "NULL" : `now() - interval '${heartbeat}'`})`
  )

describe("Liveness", () => {
  beforeAll(async () => {
    if (TestDatabase.onPglite) return
    db = await queueDatabase()
    await db.run(
      Enqueue.enqueue(
        Array.from({ length: 8 }, (_, n) => Partition.makeUnsafe(day(n))),
        { pipeline: "alive", sourceUrl: "http://127.0.0.1:9/api/v1" }
      )
    )
    // Dead: its run stopped beating 20 s ago (an earlier attempt of the same pool, before this lock, is not its run).
    await run(0, "pool-dead", "failed", "2 minutes", "2 minutes")
    await lock(0, "pool-dead", "1 minute")
    await run(0, "pool-dead", "running", "50 seconds", "20 seconds", 2)
    // Alive: its run beat a second ago.
    await lock(1, "pool-alive", "1 minute")
    await run(1, "pool-alive", "running", "50 seconds", "1 second")
    // Just took its job, no run yet: alive.
    await lock(2, "pool-young", "2 seconds")
    // Took its job a minute ago and never started a run: dead.
    await lock(3, "pool-starting", "1 minute")
    // One job silent, one beating: the pool is alive, both jobs stay its own.
    await lock(4, "pool-mixed", "1 minute")
    await run(4, "pool-mixed", "running", "50 seconds", "1 minute")
    await lock(5, "pool-mixed", "1 minute")
    await run(5, "pool-mixed", "running", "50 seconds", "1 second")
    // Finished its run 20 s ago and never completed the job (killed in between): dead; the run keeps its outcome.
    await lock(6, "pool-finished", "1 minute")
    await run(6, "pool-finished", "succeeded", "50 seconds", "20 seconds")
    // day 7: waiting, never taken.
  }, 60_000)

  afterAll(async () => {
    await db?.release()
  })

  it.skipIf(TestDatabase.onPglite)(
    `a pool none of whose jobs shows a sign of life for staleAfter is dead: its runs abandoned, its jobs unlocked, once${needsPostgres}`,
    async () => {
      const sweep = Liveness.sweep({ staleAfter: "10 seconds" })
      // Two workers sweeping at once: one does it, the other finds it done or skips.
      const [a, b] = await db.run(Effect.all([sweep, sweep], { concurrency: 2 }))
      const recovered = [...a!, ...b!]
      expect(recovered.map((job) => [job.key, job.lockedBy, job.runId === null]).sort()).toEqual([
        [`alive:UTC:${day(0)}`, "pool-dead", false],
        [`alive:UTC:${day(3)}`, "pool-starting", true],
        [`alive:UTC:${day(6)}`, "pool-finished", false]
      ])

      const jobs = await jobsOf(db, "alive")
      expect(jobs.map((job) => [job.key.slice(-10), job.locked_by])).toEqual([
        [day(0), null],
        [day(1), "pool-alive"],
        [day(2), "pool-young"],
        [day(3), null],
        [day(4), "pool-mixed"],
        [day(5), "pool-mixed"],
        [day(6), null],
        [day(7), null]
      ])
      const runs = await db.query<{ day: string; attempt: number; status: string; error: string | null }>(
        `SELECT partition_day::text AS day, attempt, status, error FROM etl_run WHERE pipeline = 'alive'
        ORDER BY partition_day, attempt`
      )
      expect(runs.map((run) => [run.day, run.attempt, run.status, run.error])).toEqual([
        [day(0), 1, "failed", null],
        [day(0), 2, "failed", "abandoned: worker pool-dead stopped (no heartbeat for 10s)"],
        [day(1), 1, "running", null],
        [day(4), 1, "running", null],
        [day(5), 1, "running", null],
        [day(6), 1, "succeeded", null]
      ])
      expect(await db.run(sweep)).toEqual([])
    }
  )
})
