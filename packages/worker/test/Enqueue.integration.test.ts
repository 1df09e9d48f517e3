import { Partition } from "@delfos/etl"
import { TestDatabase, TestFonte } from "@delfos/test-utils"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Enqueue from "../src/Enqueue.ts"
import * as Jobs from "../src/Jobs.ts"
import * as Queue from "../src/Queue.ts"
import {
  jobsOf,
  needsPostgres,
  type QueueDatabase,
  queueDatabase,
  runsOf,
  sleep,
  slowFonte,
  startWorker,
  waitFor
} from "./support.ts"

const first = Partition.Day.make("2024-01-01")
const days = (from: number, count: number) =>
  Partition.days(Partition.addDays(first, from), Partition.addDays(first, from + count - 1)).map((day) =>
    Partition.makeUnsafe(day)
  )
const sourceUrl = "http://127.0.0.1:9/api/v1"

let db: QueueDatabase

/** Runs as the ledger would hold them: `day` offsets from the first day, with a status and heartbeat age. */
const recordRuns = (
  pipeline: string,
  runs: ReadonlyArray<{ readonly day: number; readonly status: string; readonly heartbeatAgo?: string }>
) =>
  db.query(
    `INSERT INTO etl_run (pipeline, partition_day, time_zone, status, attempt, runner, started_at, heartbeat_at, finished_at)
    VALUES ${runs
      .map(
        (run) =>
          `('${pipeline}', '${Partition.addDays(first, run.day)}', 'UTC', '${run.status}', 1, 'test',
          now() - interval '1 hour', now() - interval '${run.heartbeatAgo ?? "1 hour"}',
          ${run.status === "running" ? "NULL" : "now() - interval '1 hour'"})`
      )
      .join(", ")}`
  )

const payloadsOf = (pipeline: string) =>
  db.query<{ key: string; source: string }>(
    `SELECT key, payload->>'sourceUrl' AS source FROM graphile_worker._private_jobs
    WHERE key LIKE '${pipeline}:%' ORDER BY key`
  )

describe("Enqueue", () => {
  beforeAll(async () => {
    if (!TestDatabase.onPglite) db = await queueDatabase()
  }, 60_000)

  afterAll(async () => {
    await db?.release()
  })

  it.skipIf(TestDatabase.onPglite)(
    `enqueue: a partition with a job waiting is not queued again, and its job is left as it was${needsPostgres}`,
    async () => {
      const partitions = days(0, 10)
      const options = { pipeline: "twice", sourceUrl }
      expect(await db.run(Enqueue.enqueue(partitions, options))).toEqual({ added: 10, alreadyQueued: 0, requeued: 0 })
      // Other options do not replace a waiting job (graphile-worker's default would, with a fresh attempt count).
      const again = await db.run(Enqueue.enqueue(partitions, { ...options, sourceUrl: "http://elsewhere:1/api/v1" }))
      expect(again).toEqual({ added: 0, alreadyQueued: 10, requeued: 0 })
      const jobs = await jobsOf(db, "twice")
      expect(jobs.map((job) => job.key)).toEqual(partitions.map((partition) => `twice:UTC:${partition.day}`))
      expect(jobs.every((job) => job.revision === 0)).toBe(true)
      expect((await payloadsOf("twice")).every((job) => job.source === sourceUrl)).toBe(true)
      expect(await db.run(Queue.counts({ pipeline: "twice" }))).toEqual({ waiting: 10, running: 0, failed: 0 })
    }
  )

  it.skipIf(TestDatabase.onPglite)(
    `enqueue: a job failed for good is queued afresh; one retrying is not${needsPostgres}`,
    async () => {
      const options = { pipeline: "failing", sourceUrl }
      await db.run(Enqueue.enqueue(days(0, 3), options))
      const [given, retrying] = await jobsOf(db, "failing")
      await db.query(
        `SELECT count(*) FROM graphile_worker.permanently_fail_jobs(ARRAY[${given!.id}]::bigint[], 'given up')`
      )
      // An attempt failed, a retry due later.
      await db.query(
        `UPDATE graphile_worker._private_jobs SET attempts = 1, last_error = 'once', run_at = now() + interval '1 minute'
        WHERE id = ${retrying!.id}`
      )
      expect(await db.run(Queue.counts({ pipeline: "failing" }))).toEqual({ waiting: 2, running: 0, failed: 1 })
      expect(await db.run(Enqueue.enqueue(days(0, 4), options))).toEqual({ added: 1, alreadyQueued: 2, requeued: 1 })
      const after = await jobsOf(db, "failing")
      expect(after.map((job) => [job.key.slice(-10), job.attempts])).toEqual([
        ["2024-01-01", 0],
        ["2024-01-02", 1],
        ["2024-01-03", 0],
        ["2024-01-04", 0]
      ])
      expect(await db.run(Queue.counts({ pipeline: "failing" }))).toEqual({ waiting: 4, running: 0, failed: 0 })
    }
  )

  it.skipIf(TestDatabase.onPglite)(`enqueue: a running job gets nothing queued behind it${needsPostgres}`, async () => {
    await db.run(Enqueue.enqueue(days(0, 1), { pipeline: "busy", sourceUrl }))
    await db.query(
      `UPDATE graphile_worker._private_jobs SET locked_by = 'pool-busy', locked_at = now(), attempts = 1
        WHERE key = 'busy:UTC:2024-01-01'`
    )
    expect(await db.run(Enqueue.enqueue(days(0, 1), { pipeline: "busy", sourceUrl }))).toEqual({
      added: 0,
      alreadyQueued: 1,
      requeued: 0
    })
    expect((await jobsOf(db, "busy")).map((job) => job.locked_by)).toEqual(["pool-busy"])
  })

  it.skipIf(TestDatabase.onPglite)(
    `backfill: plans from the ledger as Backfill does: missing and failed (an abandoned run too), not succeeded, empty or running${needsPostgres}`,
    async () => {
      await recordRuns("planned", [
        { day: 0, status: "succeeded" },
        { day: 1, status: "failed" },
        { day: 2, status: "empty" },
        // day 3 has no run: missing
        { day: 4, status: "running", heartbeatAgo: "1 second" },
        // Its process stopped beating an hour ago: abandoned, so failed.
        { day: 5, status: "running", heartbeatAgo: "1 hour" }
      ])
      const result = await db.run(Enqueue.backfill(days(0, 6), { pipeline: "planned", sourceUrl }))
      expect(result).toEqual({ planned: 3, skipped: 3, added: 3, alreadyQueued: 0, requeued: 0 })
      expect((await jobsOf(db, "planned")).map((job) => job.key.slice(-10))).toEqual([
        "2024-01-02",
        "2024-01-04",
        "2024-01-06"
      ])
      // Asked again: the same plan, each day already queued.
      expect(await db.run(Enqueue.backfill(days(0, 6), { pipeline: "planned", sourceUrl }))).toEqual({
        planned: 3,
        skipped: 3,
        added: 0,
        alreadyQueued: 3,
        requeued: 0
      })
    }
  )

  it.skipIf(TestDatabase.onPglite)(
    `backfill: only ["failed"] queues the failed days only; force adds days whatever their status${needsPostgres}`,
    async () => {
      await recordRuns("only", [
        { day: 0, status: "succeeded" },
        { day: 1, status: "failed" },
        { day: 2, status: "empty" },
        { day: 4, status: "failed" }
      ])
      const result = await db.run(Enqueue.backfill(days(0, 5), { pipeline: "only", sourceUrl, only: ["failed"] }))
      expect(result).toEqual({ planned: 2, skipped: 3, added: 2, alreadyQueued: 0, requeued: 0 })
      expect((await jobsOf(db, "only")).map((job) => job.key.slice(-10))).toEqual(["2024-01-02", "2024-01-05"])

      const forced = await db.run(
        Enqueue.backfill(days(0, 5), {
          pipeline: "only",
          sourceUrl,
          only: ["empty"],
          force: [Partition.Day.make("2024-01-01")]
        })
      )
      expect(forced).toEqual({ planned: 2, skipped: 3, added: 2, alreadyQueued: 0, requeued: 0 })
      expect((await jobsOf(db, "only")).map((job) => job.key.slice(-10))).toEqual([
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-05"
      ])
    }
  )

  it.skipIf(TestDatabase.onPglite)(
    `backfill: two at once queue each day once (enqueuers of a pipeline take turns)${needsPostgres}`,
    async () => {
      const backfill = Enqueue.backfill(days(0, 20), { pipeline: "racing", sourceUrl })
      const [a, b] = await db.run(Effect.all([backfill, backfill], { concurrency: 2 }))
      expect(a!.added + b!.added).toBe(20)
      expect(a!.alreadyQueued + b!.alreadyQueued).toBe(20)
      expect((await jobsOf(db, "racing")).length).toBe(20)
    }
  )

  it.skipIf(TestDatabase.onPglite)(`bad options are an InvalidJob and queue nothing${needsPostgres}`, async () => {
    const error = await db.run(
      Effect.flip(Enqueue.backfill(days(0, 3), { pipeline: "bad", sourceUrl, variables: ["rotor_speed"] }))
    )
    expect(error).toBeInstanceOf(Jobs.InvalidJob)
    expect(error.message).toContain('unknown variable "rotor_speed"')
    const attempts = await db.run(Effect.flip(Enqueue.enqueue(days(0, 3), { pipeline: "bad", maxAttempts: 0 })))
    expect(attempts.message).toContain("maxAttempts must be a whole number from 1 to 32767, got 0")
    expect(await jobsOf(db, "bad")).toEqual([])
  })

  describe("while workers run", () => {
    let fonte: TestFonte.Handle
    beforeAll(async () => {
      if (TestDatabase.onPglite) return
      fonte = await TestFonte.start({ startDate: first, days: 12 })
      // The jobs queued above read no fonte: the workers must not spend the test on them.
      await db.query("DELETE FROM graphile_worker._private_jobs")
    }, 60_000)
    afterAll(async () => {
      await fonte?.close()
    })

    // Before, a second enqueue replaced the waiting jobs and queued the succeeded days again: days ran twice.
    it.skipIf(TestDatabase.onPglite)(
      `backfill twice, 2 s apart: each day runs exactly once, and succeeded days are not queued${needsPostgres}`,
      async () => {
        const slow = await slowFonte(fonte.url, 400)
        const workers = await Promise.all(
          [1, 2].map(() => startWorker({ databaseUrl: db.url, pollInterval: 100, heartbeatInterval: 200 }))
        )
        try {
          const options = { pipeline: "backfill-twice", sourceUrl: slow.url }
          const firstTime = await db.run(Enqueue.backfill(days(0, 12), options))
          expect(firstTime).toEqual({ planned: 12, skipped: 0, added: 12, alreadyQueued: 0, requeued: 0 })
          await sleep(2_000)
          const secondTime = await db.run(Enqueue.backfill(days(0, 12), options))
          console.log(`the second backfill, 2 s later: ${JSON.stringify(secondTime)}`)
          // Done and running days are skipped; waiting ones are planned, and already queued.
          expect(secondTime.skipped).toBeGreaterThan(0)
          expect(secondTime.planned).toBeGreaterThan(0)
          expect(secondTime).toMatchObject({ added: 0, requeued: 0, alreadyQueued: secondTime.planned })
          await waitFor("every job to finish", async () => (await jobsOf(db, "backfill-twice")).length === 0)
          const runs = await runsOf(db, "backfill-twice")
          expect(runs.map((run) => [run.day, run.status, run.attempt])).toEqual(
            days(0, 12).map((partition) => [partition.day, "succeeded", 1])
          )
        } finally {
          await Promise.all(workers.map((worker) => worker.stop()))
          await slow.close()
        }
      },
      60_000
    )
  })
})
