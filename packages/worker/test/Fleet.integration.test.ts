import { Asset, Partition, Partitions } from "@delfos/etl"
import { TestDatabase, TestFonte } from "@delfos/test-utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Enqueue from "../src/Enqueue.ts"
import * as Liveness from "../src/Liveness.ts"
import * as Queue from "../src/Queue.ts"
import { jobsOf, needsPostgres, type QueueDatabase, queueDatabase, startWorker, waitFor } from "./support.ts"

// A farm on the queue: the fonte seeded with 5 turbines, jobs of up to `batchSize` turbines of one
// day, an in-process worker on a real Postgres, and every turbine-day's rows checked against an
// aggregation written here from the fonte's JSON (not the pipeline's resampler).
const first = Partition.Day.make("2024-01-01")
const turbines = ["WTG01", "WTG02", "WTG03", "WTG04", "WTG05"] as const
const days = Partition.days(first, Partition.addDays(first, 2))

let db: QueueDatabase
let fonte: TestFonte.Handle

const fleet = (pipelineDays: ReadonlyArray<Partition.Day>, assets: ReadonlyArray<string>) =>
  Partition.forAssets(
    pipelineDays.map((day) => Partition.makeUnsafe(day)),
    assets.map((asset) => Asset.AssetId.make(asset))
  )

interface LedgerRow {
  readonly day: string
  readonly asset: string
  readonly status: string
  readonly attempt: number
  readonly error: string | null
}

const ledgerOf = (pipeline: string) =>
  db.query<LedgerRow>(
    `SELECT partition_day::text AS day, asset, status, attempt, error FROM etl_run
    WHERE pipeline = '${pipeline}' ORDER BY partition_day, asset, attempt`
  )

interface Row {
  readonly timestamp: number
  readonly signal: string
  readonly value: number
}

/** A turbine-day's rows in `data`, through the schema's own joins (docs/SCHEMA.md). */
const targetRows = async (turbine: string, day: string): Promise<Array<Row>> =>
  (
    await db.query<{ timestamp: Date; signal: string; value: number }>(
      `SELECT d.timestamp, s.name AS signal, d.value
      FROM data d JOIN signal s ON s.id = d.signal_id JOIN asset a ON a.id = s.asset_id
      WHERE a.name = '${turbine}' AND d.timestamp >= '${day}'::date AND d.timestamp < '${day}'::date + 1
      ORDER BY d.timestamp, s.name`
    )
  ).map((row) => ({ timestamp: new Date(row.timestamp).getTime(), signal: row.signal, value: row.value }))

/**
 * What a turbine-day must give, from the fonte's JSON: per 10 minutes and variable, the mean, min,
 * max and sample standard deviation of the values present; no row for a window without values, nor
 * a std of one value.
 */
const expectedRows = async (turbine: string, day: string): Promise<Array<Row>> => {
  const start = Date.parse(`${day}T00:00:00Z`)
  const end = start + 86_400_000
  const next = new Date(end).toISOString().slice(0, 10)
  const response = await fetch(
    `${fonte.apiUrl}/sensors?start_date=${day}T00:00:00&end_date=${next}T00:00:00&metrics=wind_speed&metrics=power&turbine_id=${turbine}`
  )
  const samples = (await response.json()) as Array<{
    turbine_id: string
    timestamp: string
    wind_speed: number | null
    power: number | null
  }>
  const windows = new Map<string, Array<number>>()
  for (const sample of samples) {
    expect(sample.turbine_id).toBe(turbine)
    const t = Date.parse(`${sample.timestamp}Z`)
    if (t < start || t >= end) continue
    const window = start + Math.floor((t - start) / 600_000) * 600_000
    for (const variable of ["wind_speed", "power"] as const) {
      const value = sample[variable]
      if (value === null) continue
      const key = `${window}|${variable}`
      const values = windows.get(key) ?? []
      values.push(value)
      windows.set(key, values)
    }
  }
  const rows: Array<Row> = []
  for (const [key, values] of windows) {
    const [window, variable] = key.split("|") as [string, string]
    const timestamp = Number(window)
    const n = values.length
    const mean = values.reduce((a, b) => a + b, 0) / n
    rows.push(
      { timestamp, signal: `${variable}_mean`, value: mean },
      { timestamp, signal: `${variable}_min`, value: Math.min(...values) },
      { timestamp, signal: `${variable}_max`, value: Math.max(...values) }
    )
    if (n > 1) {
      const std = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (n - 1))
      rows.push({ timestamp, signal: `${variable}_std`, value: std })
    }
  }
  return rows.sort((a, b) => a.timestamp - b.timestamp || (a.signal < b.signal ? -1 : a.signal > b.signal ? 1 : 0))
}

const expectSameRows = (actual: ReadonlyArray<Row>, expected: ReadonlyArray<Row>) => {
  expect(actual.map((row) => [row.timestamp, row.signal])).toEqual(expected.map((row) => [row.timestamp, row.signal]))
  const worst = actual.reduce(
    (max, row, i) =>
      Math.max(max, Math.abs(row.value - expected[i]!.value) / Math.max(1, Math.abs(expected[i]!.value))),
    0
  )
  expect(worst).toBeLessThan(1e-9)
}

describe("a farm on the queue", () => {
  beforeAll(async () => {
    if (TestDatabase.onPglite) return
    db = await queueDatabase()
    fonte = await TestFonte.start({ startDate: first, days: days.length, turbines: turbines.length })
  }, 60_000)

  afterAll(async () => {
    await fonte?.close()
    await db?.release()
  })

  it.skipIf(TestDatabase.onPglite)(
    `3 days × 5 turbines, 2 to a job: 9 jobs, none twice however often queued; one worker drains them and each turbine-day succeeds once with its own rows${needsPostgres}`,
    async () => {
      const options = { pipeline: "farm", sourceUrl: fonte.apiUrl, batchSize: 2 }
      const partitions = fleet(days, turbines)
      expect(await db.run(Enqueue.enqueue(partitions, options))).toEqual({ added: 15, alreadyQueued: 0, requeued: 0 })
      const keys = days.flatMap((day) => [
        `farm:UTC:${day}:WTG01,WTG02`,
        `farm:UTC:${day}:WTG03,WTG04`,
        `farm:UTC:${day}:WTG05`
      ])
      expect((await jobsOf(db, "farm")).map((job) => job.key)).toEqual(keys)

      // Again, in another order, or cut otherwise, or planned from the ledger: every turbine-day is covered already.
      expect(await db.run(Enqueue.enqueue([...partitions].reverse(), options))).toEqual({
        added: 0,
        alreadyQueued: 15,
        requeued: 0
      })
      expect(await db.run(Enqueue.enqueue(partitions, { ...options, batchSize: 3 }))).toEqual({
        added: 0,
        alreadyQueued: 15,
        requeued: 0
      })
      expect(await db.run(Enqueue.backfill(partitions, options))).toEqual({
        added: 0,
        alreadyQueued: 15,
        requeued: 0,
        planned: 15,
        skipped: 0
      })
      // The days with the turbines as an option: named, or all the fonte lists (`GET /turbines`).
      const dayPartitions = days.map((day) => Partition.makeUnsafe(day))
      for (const assets of [[...turbines], "all"] as const) {
        expect(await db.run(Enqueue.enqueue(dayPartitions, { ...options, assets }))).toEqual({
          added: 0,
          alreadyQueued: 15,
          requeued: 0
        })
      }
      const queued = await jobsOf(db, "farm")
      expect(queued.map((job) => job.key)).toEqual(keys)
      expect(queued.every((job) => job.revision === 0 && job.attempts === 0)).toBe(true)
      expect(await db.run(Queue.counts({ pipeline: "farm" }))).toEqual({ waiting: 9, running: 0, failed: 0 })

      const worker = await startWorker({ databaseUrl: db.url, concurrency: 2, pollInterval: 250 })
      try {
        await waitFor("9 jobs to finish", async () => (await jobsOf(db, "farm")).length === 0)
      } finally {
        await worker.stop()
      }

      const runs = await ledgerOf("farm")
      expect(runs.map((run) => [run.day, run.asset, run.status, run.attempt])).toEqual(
        days.flatMap((day) => turbines.map((turbine) => [day, turbine, "succeeded", 1]))
      )
      for (const day of days) {
        for (const turbine of turbines) {
          const expected = await expectedRows(turbine, day)
          // A day of minutes, every window of both variables: 144 × 2 × 4 rows, give or take a missing sample.
          expect(expected.length).toBeGreaterThan(1000)
          expectSameRows(await targetRows(turbine, day), expected)
        }
      }
      // Nothing of the default series: every row is a turbine's.
      expect(await db.query(`SELECT count(*)::int AS n FROM signal WHERE asset_id IS NULL`)).toEqual([{ n: 0 }])

      // Done partitions have no job: enqueue runs them again (a re-run), backfill leaves them.
      expect(await db.run(Enqueue.backfill(partitions, options))).toEqual({
        added: 0,
        alreadyQueued: 0,
        requeued: 0,
        planned: 0,
        skipped: 15
      })
    },
    60_000
  )

  it.skipIf(TestDatabase.onPglite)(
    `a retry runs only the batch's turbines that have not ended well since the job was queued${needsPostgres}`,
    async () => {
      const day = days[0]!
      await db.run(
        Enqueue.enqueue(fleet([day], ["WTG01", "WTG02", "WTG03"]), {
          pipeline: "retry",
          sourceUrl: fonte.apiUrl,
          batchSize: 3
        })
      )
      // As after a first attempt: WTG01 succeeded and WTG02 failed since the job was queued; WTG03
      // succeeded an hour before it was (a re-run was asked for).
      await db.query(
        `INSERT INTO etl_run (pipeline, partition_day, time_zone, asset, status, attempt, runner, started_at, heartbeat_at, finished_at)
        VALUES ('retry', '${day}', 'UTC', 'WTG01', 'succeeded', 1, 'earlier', now(), now(), now()),
          ('retry', '${day}', 'UTC', 'WTG02', 'failed', 1, 'earlier', now(), now(), now()),
          ('retry', '${day}', 'UTC', 'WTG03', 'succeeded', 1, 'earlier', now() - interval '1 hour',
            now() - interval '1 hour', now() - interval '1 hour')`
      )
      await db.query(
        `UPDATE graphile_worker._private_jobs SET attempts = 1, last_error = 'retry WTG02 failed'
        WHERE key = 'retry:UTC:${day}:WTG01,WTG02,WTG03'`
      )
      const worker = await startWorker({ databaseUrl: db.url, pollInterval: 250 })
      try {
        await waitFor("the retry to finish", async () => (await jobsOf(db, "retry")).length === 0)
      } finally {
        await worker.stop()
      }
      const runs = await ledgerOf("retry")
      expect(runs.map((run) => [run.asset, run.attempt, run.status])).toEqual([
        ["WTG01", 1, "succeeded"],
        ["WTG02", 1, "failed"],
        ["WTG02", 2, "succeeded"],
        ["WTG03", 1, "succeeded"],
        ["WTG03", 2, "succeeded"]
      ])
    },
    30_000
  )

  it.skipIf(TestDatabase.onPglite)(
    `a failed extract fails the whole batch: every turbine's run, the job's error naming them; queued again, it is requeued${needsPostgres}`,
    async () => {
      const day = days[0]!
      // WTG09 is not in the farm: the fonte refuses the request (422), so the batch's extract fails.
      const partitions = fleet([day], ["WTG01", "WTG09"])
      const options = { pipeline: "refused", sourceUrl: fonte.apiUrl, maxAttempts: 1 }
      await db.run(Enqueue.enqueue(partitions, options))
      const worker = await startWorker({ databaseUrl: db.url, pollInterval: 250 })
      try {
        await waitFor(
          "the job to fail for good",
          async () => (await db.run(Queue.counts({ pipeline: "refused" }))).failed === 1
        )
      } finally {
        await worker.stop()
      }
      const runs = await ledgerOf("refused")
      expect(runs.map((run) => [run.asset, run.status])).toEqual([
        ["WTG01", "failed"],
        ["WTG09", "failed"]
      ])
      const [job] = await db.query<{ key: string; last_error: string }>(
        `SELECT key, last_error FROM graphile_worker._private_jobs WHERE key LIKE 'refused:%'`
      )
      expect(job!.key).toBe(`refused:UTC:${day}:WTG01,WTG09`)
      expect(job!.last_error).toContain(`refused UTC:${day} WTG01,WTG09 failed: SourceRejected`)

      // Queued again: the failed job is replaced; WTG01 alone is a new job beside it, which stays failed for WTG09.
      expect(await db.run(Enqueue.enqueue(fleet([day], ["WTG01"]), options))).toEqual({
        added: 0,
        alreadyQueued: 0,
        requeued: 1
      })
      expect((await jobsOf(db, "refused")).map((job) => job.key)).toEqual([
        `refused:UTC:${day}:WTG01`,
        `refused:UTC:${day}:WTG01,WTG09`
      ])
      expect(await db.run(Enqueue.enqueue(partitions, options))).toEqual({ added: 0, alreadyQueued: 1, requeued: 1 })
      expect((await jobsOf(db, "refused")).map((job) => job.key)).toEqual([
        `refused:UTC:${day}:WTG01`,
        `refused:UTC:${day}:WTG09`
      ])
      await db.query(`DELETE FROM graphile_worker._private_jobs WHERE key LIKE 'refused:%'`)
    },
    30_000
  )

  it.skipIf(TestDatabase.onPglite)(
    `a worker carrying a fleet's schedule queues each day for every turbine the source lists, batchSize to a job, and runs them${needsPostgres}`,
    async () => {
      const yesterday = Partitions.lastCompleteDay(Partition.utc, Date.now())
      const before = Partition.addDays(yesterday, -1)
      // The fonte has no samples for these days: every turbine-day ends `empty`, which is not a failure.
      // Every turbine the fonte lists, asked at each tick.
      const schedule = {
        definition: { name: "nightly-farm", startDay: before, timeZone: Partition.utc },
        options: { sourceUrl: fonte.apiUrl, cron: "0 0 * * *", lookback: 1, assets: "all" as const, batchSize: 2 }
      }
      const worker = await startWorker({ databaseUrl: db.url, pollInterval: 100, schedule })
      try {
        await waitFor(
          "the catch-up tick's 10 turbine-days to run",
          async () => (await ledgerOf("nightly-farm")).filter((run) => run.status !== "running").length === 10,
          20_000
        )
      } finally {
        await worker.stop()
      }
      expect((await ledgerOf("nightly-farm")).map((run) => [run.day, run.asset, run.status])).toEqual(
        [before, yesterday].flatMap((day) => turbines.map((asset) => [day, asset, "empty"]))
      )
    },
    30_000
  )

  it.skipIf(TestDatabase.onPglite)(
    `liveness reads a batch's runs: a pool beating for its turbines is alive; a silent one is dead, all its runs abandoned${needsPostgres}`,
    async () => {
      const [alive, dead] = [days[1]!, days[2]!]
      await db.run(
        Enqueue.enqueue([...fleet([alive], ["WTG01", "WTG02"]), ...fleet([dead], ["WTG01", "WTG02"])], {
          pipeline: "pulse",
          sourceUrl: fonte.apiUrl
        })
      )
      const lock = (day: string, pool: string) =>
        db.query(
          `UPDATE graphile_worker._private_jobs SET locked_by = '${pool}', locked_at = now() - interval '1 minute',
            attempts = 1 WHERE key = 'pulse:UTC:${day}:WTG01,WTG02'`
        )
      const running = (day: string, pool: string, heartbeat: string) =>
        db.query(
          `INSERT INTO etl_run (pipeline, partition_day, time_zone, asset, status, attempt, runner, started_at, heartbeat_at)
          SELECT 'pulse', '${day}', 'UTC', asset, 'running', 1, '${pool}', now() - interval '50 seconds',
            now() - interval '${heartbeat}'
          FROM unnest(ARRAY['WTG01', 'WTG02']) AS asset`
        )
      await lock(alive, "pool-beating")
      await running(alive, "pool-beating", "1 second")
      await lock(dead, "pool-silent")
      await running(dead, "pool-silent", "20 seconds")

      const recovered = await db.run(Liveness.sweep({ staleAfter: "10 seconds" }))
      expect(recovered.map((job) => [job.key, job.lockedBy, job.runIds.length])).toEqual([
        [`pulse:UTC:${dead}:WTG01,WTG02`, "pool-silent", 2]
      ])
      const runs = await ledgerOf("pulse")
      expect(runs.map((run) => [run.day, run.asset, run.status, run.error])).toEqual([
        [alive, "WTG01", "running", null],
        [alive, "WTG02", "running", null],
        [dead, "WTG01", "failed", "abandoned: worker pool-silent stopped (no heartbeat for 10s)"],
        [dead, "WTG02", "failed", "abandoned: worker pool-silent stopped (no heartbeat for 10s)"]
      ])
      expect((await jobsOf(db, "pulse")).map((job) => job.locked_by)).toEqual(["pool-beating", null])
      await db.query(`DELETE FROM graphile_worker._private_jobs WHERE key LIKE 'pulse:%'`)
    }
  )
})
