import { Partition, Resample, SampleFrame, Signal, TidyRows, Unpivot } from "@delfos/etl"
import { TestDatabase, TestFonte } from "@delfos/test-utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Enqueue from "../src/Enqueue.ts"
import {
  jobsOf,
  needsPostgres,
  type QueueDatabase,
  queueDatabase,
  runsOf,
  slowFonte,
  startWorkerProcess,
  stopAll,
  type WorkerProcess,
  waitFor
} from "./support.ts"

// Real worker processes (`fixtures/worker.ts`: `Worker.start` until SIGTERM, as `delfos-etl
// worker` runs it), real Postgres, the fonte server in this process: what several machines sharing
// one queue do, on one.
const first = Partition.Day.make("2024-01-01")
const seededDays = 60

let db: QueueDatabase
let fonte: TestFonte.Handle

const days = (from: number, count: number) =>
  Partition.days(Partition.addDays(first, from), Partition.addDays(first, from + count - 1)).map((day) =>
    Partition.makeUnsafe(day)
  )

const enqueue = (partitions: ReadonlyArray<Partition.Partition>, pipeline: string, sourceUrl: string) =>
  db.run(Enqueue.enqueue(partitions, { pipeline, sourceUrl }))

interface Row {
  readonly timestamp: string
  readonly signal: string
  readonly value: number
}

const targetRows = (day: string) =>
  db.query<Row>(
    `SELECT to_char(d.timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS timestamp, s.name AS signal, d.value
    FROM data d JOIN signal s ON s.id = d.signal_id
    WHERE d.timestamp >= '${day}'::date AND d.timestamp < '${day}'::date + 1
    ORDER BY d.timestamp, s.name`
  )

/** What a day must give, computed here from the fonte's own answer (JSON.parse, not the HTTP source's decoder). */
const expectedRows = async (day: string): Promise<Array<Row>> => {
  const partition = Partition.makeUnsafe(day)
  const range = Partition.range(partition)
  const next = Partition.addDays(partition.day, 1)
  const response = await fetch(
    `${fonte.url}/api/v1/sensors?start_date=${day}T00:00:00&end_date=${next}T00:00:00&metrics=wind_speed&metrics=power`
  )
  // Rows the API includes at the next midnight fall outside the range: the resampler ignores them.
  const frame = SampleFrame.fromRows(
    (await response.json()) as Array<{ timestamp: string; wind_speed: number | null; power: number | null }>,
    Signal.defaultVariables
  )
  return TidyRows.toArray(Unpivot.unpivot(Resample.resample(frame, { range, variables: Signal.defaultVariables })))
}

describe("worker processes", () => {
  beforeAll(async () => {
    if (TestDatabase.onPglite) return
    db = await queueDatabase()
    fonte = await TestFonte.start({ startDate: first, days: seededDays })
  }, 60_000)

  afterAll(async () => {
    await fonte?.close()
    await db?.release()
  })

  it.skipIf(TestDatabase.onPglite)(
    `3 workers, 60 partitions: each succeeds exactly once, with the rows the pipeline computes${needsPostgres}`,
    async () => {
      const workers = await Promise.all([1, 2, 3].map(() => startWorkerProcess(db.url, { concurrency: 2 })))
      try {
        expect(await enqueue(days(0, seededDays), "sixty", fonte.apiUrl)).toEqual({
          added: 60,
          alreadyQueued: 0,
          requeued: 0
        })
        await waitFor("60 jobs to finish", async () => (await jobsOf(db, "sixty")).length === 0)

        const runs = await runsOf(db, "sixty")
        expect(runs.length).toBe(60)
        expect(runs.every((run) => run.status === "succeeded" && run.attempt === 1)).toBe(true)
        expect(new Set(runs.map((run) => run.day)).size).toBe(60)
        // Each run recorded by the pool that ran it, one of the three.
        const perWorker = workers.map((worker) => runs.filter((run) => run.runner === worker.id).length)
        expect(perWorker.reduce((a, b) => a + b, 0)).toBe(60)
        console.log(`runs per worker process: ${perWorker.join(", ")}`)

        const perDay = await db.query<{ day: string; rows: number; distinct_keys: number }>(
          `SELECT (timestamp AT TIME ZONE 'UTC')::date::text AS day, count(*)::int AS rows,
          count(DISTINCT (signal_id, timestamp))::int AS distinct_keys
        FROM data GROUP BY 1 ORDER BY 1`
        )
        expect(perDay.length).toBe(60)
        expect(perDay.every((day) => day.rows === 1152 && day.distinct_keys === 1152)).toBe(true)
        for (const day of ["2024-01-01", "2024-01-31", "2024-02-29"]) {
          expect(await targetRows(day)).toEqual(await expectedRows(day))
        }
      } finally {
        // SIGTERM: a graceful stop, exit code 0.
        expect(await stopAll(workers)).toEqual([0, 0, 0])
      }
    },
    60_000
  )

  it.skipIf(TestDatabase.onPglite)(
    `a worker SIGKILLed mid-job: its run goes stale, and another worker retries its job within seconds${needsPostgres}`,
    async () => {
      const slow = await slowFonte(fonte.url, 1_500)
      // One job each; the survivor is idle again before the doomed worker's run goes stale, and looks
      // for jobs every 250 ms, so the recovery time is the liveness rule's.
      const liveness = { heartbeatInterval: 250, staleAfter: 1_500, pollInterval: 250 }
      const [doomed, survivor] = [
        await startWorkerProcess(db.url, liveness),
        await startWorkerProcess(db.url, liveness)
      ] as [WorkerProcess, WorkerProcess]
      try {
        const partitions = days(10, 2)
        await enqueue(partitions, "killed", slow.url)

        // Caught in flight: its job locked, its run started, its request held by the slow fonte.
        let victim: { key: string } | undefined
        await waitFor("a job of the doomed worker in flight", async () => {
          victim = (await jobsOf(db, "killed")).find((job) => job.locked_by === doomed.id)
          return victim !== undefined && slow.inFlight() > 0
        })
        doomed.child.kill("SIGKILL")
        const killedAt = Date.now()
        expect(await doomed.exit).toBe(null)

        await waitFor("the victim's job to be taken by the survivor", async () =>
          (await jobsOf(db, "killed")).some((job) => job.key === victim!.key && job.locked_by === survivor.id)
        )
        const recovery = Date.now() - killedAt
        await waitFor("every job to finish", async () => (await jobsOf(db, "killed")).length === 0)

        const runs = await runsOf(db, "killed")
        const victimDay = victim!.key.split(":")[2]!
        expect(runs.filter((run) => run.day === victimDay).map((run) => [run.status, run.attempt, run.runner])).toEqual(
          [
            ["failed", 1, doomed.id],
            ["succeeded", 2, survivor.id]
          ]
        )
        expect(runs.find((run) => run.day === victimDay)?.error).toBe(
          `abandoned: worker ${doomed.id} stopped (no heartbeat for 1.5s)`
        )
        const succeeded = runs.filter((run) => run.status === "succeeded").map((run) => run.day)
        expect(succeeded).toEqual(partitions.map((partition) => partition.day))
        for (const partition of partitions) {
          expect((await targetRows(partition.day)).length).toBe(1152)
        }
        expect(await targetRows(victimDay)).toEqual(await expectedRows(victimDay))
        // Stale 1.5 s after the last heartbeat, swept every 0.25 s, taken within a 0.25 s poll.
        expect(recovery).toBeLessThan(4_000)
        console.log(`SIGKILLed worker's job retried by another after ${(recovery / 1000).toFixed(1)} s`)
      } finally {
        expect(await stopAll([survivor])).toEqual([0])
        await slow.close()
      }
    },
    60_000
  )

  it.skipIf(TestDatabase.onPglite)(
    `SIGTERM mid-job: the job finishes, or past shutdownTimeout rolls back and stays queued; exit 0${needsPostgres}`,
    async () => {
      const slow = await slowFonte(fonte.url, 1_000)
      try {
        const inFlight = (worker: WorkerProcess, pipeline: string) =>
          waitFor("a job in flight", async () =>
            (await jobsOf(db, pipeline)).some((job) => job.locked_by === worker.id && slow.inFlight() > 0)
          )

        const patient = await startWorkerProcess(db.url)
        await enqueue(days(30, 1), "finish", slow.url)
        await inFlight(patient, "finish")
        // Queued again while it runs: nothing is added behind it (graphile-worker's default would).
        expect(await enqueue(days(30, 1), "finish", slow.url)).toEqual({ added: 0, alreadyQueued: 1, requeued: 0 })
        patient.child.kill("SIGTERM")
        expect(await patient.exit).toBe(0)
        expect((await runsOf(db, "finish")).map((run) => run.status)).toEqual(["succeeded"])
        expect(await jobsOf(db, "finish")).toEqual([])

        const hasty = await startWorkerProcess(db.url, { shutdownTimeout: 0 })
        await enqueue(days(31, 1), "interrupt", slow.url)
        await inFlight(hasty, "interrupt")
        hasty.child.kill("SIGTERM")
        expect(await hasty.exit).toBe(0)
        expect((await runsOf(db, "interrupt")).map((run) => [run.status, run.error])).toEqual([
          ["failed", "interrupted"]
        ])
        // Back in the queue, unlocked, for another worker to retry after graphile-worker's backoff.
        expect((await jobsOf(db, "interrupt")).map((job) => [job.attempts, job.locked_by])).toEqual([[1, null]])
      } finally {
        await slow.close()
      }
    },
    60_000
  )
})
