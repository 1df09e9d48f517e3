import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { createServer, type Server as HttpServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { Partition, Resample, SampleFrame, Signal, TidyRows, Unpivot } from "@delfos/etl"
import { TestDatabase, TestFonte } from "@delfos/test-utils"
import { type JobHelpers, parseCrontab, type WorkerUtils } from "graphile-worker"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Enqueue from "../src/Enqueue.ts"
import * as Queue from "../src/Queue.ts"
import * as Schedule from "../src/Schedule.ts"

// Real worker processes (the `delfos-etl worker` command, built), real Postgres, the fonte server
// in this process: what several machines sharing one queue do, on one.
const bin = join(import.meta.dirname, "..", "..", "cli", "dist", "bin.js")
const first = Partition.Day.make("2024-01-01")
const seededDays = 60

// graphile-worker needs a real server: LISTEN/NOTIFY and a pool per process. PGlite (the fallback
// when there is no DATABASE_URL and no Docker) serves one connection at a time.
const target = await TestDatabase.acquire()
const skipReason =
  target.kind === "pglite"
    ? "graphile-worker needs a real Postgres (LISTEN/NOTIFY, several connections per process) and " +
      "TestDatabase fell back to PGlite: set DATABASE_URL (CI does) or start Docker"
    : undefined
if (skipReason !== undefined) {
  await target.release()
  console.warn(`skipping the worker process tests: ${skipReason}`)
}

let fonte: TestFonte.Handle
let utils: WorkerUtils

const query = async <A>(statement: string, values: ReadonlyArray<unknown> = []): Promise<Array<A>> =>
  utils.withPgClient(async (client) => (await client.query(statement, [...values])).rows as Array<A>)

const days = (from: number, count: number) =>
  Partition.days(Partition.addDays(first, from), Partition.addDays(first, from + count - 1)).map((day) =>
    Partition.makeUnsafe(day)
  )

interface WorkerProcess {
  readonly child: ChildProcess
  /** graphile-worker's pool id, from the worker's first line. */
  readonly id: string
  readonly output: () => string
  readonly exit: Promise<number | null>
}

const startWorker = async (args: ReadonlyArray<string>): Promise<WorkerProcess> => {
  const child = spawn(process.execPath, [bin, "worker", ...args], {
    env: { ...process.env, DATABASE_URL: target.url },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (chunk) => {
    output += chunk
  })
  child.stderr?.on("data", (chunk) => {
    output += chunk
  })
  const exit = once(child, "exit").then(([code]) => code as number | null)
  const started = Date.now()
  while (!/taking jobs/.test(output)) {
    if (child.exitCode !== null || Date.now() - started > 20_000) throw new Error(`worker did not start:\n${output}`)
    await sleep(20)
  }
  const id = /worker (\S+) \(pid/.exec(output)?.[1] ?? ""
  return { child, id, output: () => output, exit }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const waitFor = async (what: string, condition: () => Promise<boolean>, timeout = 30_000) => {
  const started = Date.now()
  while (!(await condition())) {
    if (Date.now() - started > timeout) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

const jobsOf = (pipeline: string) =>
  query<{ id: string; key: string; attempts: number; locked_by: string | null }>(
    "SELECT id::text, key, attempts, locked_by FROM graphile_worker.jobs WHERE key LIKE $1 ORDER BY key",
    [`${pipeline}:%`]
  )

const runsOf = (pipeline: string) =>
  query<{ day: string; status: string; attempt: number; error: string | null; started_at: Date }>(
    `SELECT partition_day::text AS day, status, attempt, error, started_at FROM etl_run
    WHERE pipeline = $1 ORDER BY partition_day, attempt`,
    [pipeline]
  )

interface Row {
  readonly timestamp: string
  readonly signal: string
  readonly value: number
}

const targetRows = (day: string) =>
  query<Row>(
    `SELECT to_char(d.timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS timestamp, s.name AS signal, d.value
    FROM data d JOIN signal s ON s.id = d.signal_id
    WHERE d.timestamp >= $1::date AND d.timestamp < $1::date + 1
    ORDER BY d.timestamp, s.name`,
    [day]
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

/** A fonte that answers each request after `delay` ms, so that a job can be caught in flight. */
const slowFonte = async (delay: number) => {
  let inFlight = 0
  const server: HttpServer = createServer(async (request, response) => {
    inFlight++
    try {
      await sleep(delay)
      const upstream = await fetch(`${fonte.url}${request.url}`)
      response.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text())
    } catch {
      // The fonte went away (the test is over, say): the job sees a 502, never an unhandled rejection.
      if (!response.headersSent) response.writeHead(502).end()
    } finally {
      inFlight--
    }
  })
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`,
    inFlight: () => inFlight,
    close: () => server.close()
  }
}

const stopAll = async (workers: ReadonlyArray<WorkerProcess>) => {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill("SIGTERM")
  return Promise.all(workers.map((worker) => worker.exit))
}

describe.skipIf(skipReason !== undefined)(`delfos-etl worker processes${skipReason ? ` (${skipReason})` : ""}`, () => {
  beforeAll(async () => {
    fonte = await TestFonte.start({ startDate: first, days: seededDays })
    utils = await Queue.open(target.url)
  }, 60_000)

  afterAll(async () => {
    await utils?.release()
    await fonte?.close()
    await target.release()
  })

  it("3 workers, 60 partitions: each succeeds exactly once, with the rows the pipeline computes", async () => {
    const workers = await Promise.all([1, 2, 3].map(() => startWorker(["--concurrency", "2", "--verbose"])))
    try {
      const result = await Enqueue.enqueueRange({
        databaseUrl: target.url,
        partitions: days(0, seededDays),
        pipeline: "sixty",
        sourceUrl: fonte.apiUrl
      })
      expect(result).toEqual({ added: 60, alreadyQueued: 0, requeued: 0 })
      await waitFor("60 jobs to finish", async () => (await jobsOf("sixty")).length === 0)

      const runs = await runsOf("sixty")
      expect(runs.length).toBe(60)
      expect(runs.every((run) => run.status === "succeeded" && run.attempt === 1)).toBe(true)
      expect(new Set(runs.map((run) => run.day)).size).toBe(60)
      // Each job completed once, by one of the processes: 60 completions in all.
      const completed = workers.map((worker) => worker.output().match(/Completed task \d+/g)?.length ?? 0)
      expect(completed.reduce((a, b) => a + b, 0)).toBe(60)
      console.log(`jobs completed per worker process: ${completed.join(", ")}`)

      const perDay = await query<{ day: string; rows: number; distinct_keys: number }>(
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
  }, 60_000)

  it("a worker SIGKILLed mid-job: its job is retried by another within seconds, the result complete", async () => {
    const slow = await slowFonte(1_500)
    // One job each; the survivor is idle again before the doomed worker is found dead, and looks for
    // jobs every 250 ms, so the recovery time is the liveness check's.
    const liveness = ["--heartbeat-interval", "0.25", "--stale-after", "1.5", "--poll-interval", "0.25"]
    const [doomed, survivor] = [await startWorker(liveness), await startWorker(liveness)]
    try {
      const partitions = days(10, 2)
      await Enqueue.enqueueRange({ databaseUrl: target.url, partitions, pipeline: "killed", sourceUrl: slow.url })

      // Caught in flight: its job locked, its request held by the slow fonte.
      let victim: { key: string } | undefined
      await waitFor("a job of the doomed worker in flight", async () => {
        victim = (await jobsOf("killed")).find((job) => job.locked_by === doomed.id)
        return victim !== undefined && slow.inFlight() > 0
      })
      doomed.child.kill("SIGKILL")
      const killedAt = Date.now()
      expect(await doomed.exit).toBe(null)

      await waitFor("the victim's job to be taken by the survivor", async () =>
        (await jobsOf("killed")).some((job) => job.key === victim!.key && job.locked_by === survivor.id)
      )
      const recovery = Date.now() - killedAt
      await waitFor("every job to finish", async () => (await jobsOf("killed")).length === 0)

      const runs = await runsOf("killed")
      const victimDay = victim!.key.split(":")[2]!
      expect(runs.filter((run) => run.day === victimDay).map((run) => [run.status, run.attempt])).toEqual([
        ["failed", 1],
        ["succeeded", 2]
      ])
      expect(runs.find((run) => run.day === victimDay)?.error).toMatch(/^abandoned: worker pool-\w+ stopped/)
      const succeeded = runs.filter((run) => run.status === "succeeded").map((run) => run.day)
      expect(succeeded).toEqual(partitions.map((partition) => partition.day))
      for (const partition of partitions) {
        expect((await targetRows(partition.day)).length).toBe(1152)
      }
      expect(await targetRows(victimDay)).toEqual(await expectedRows(victimDay))
      // Stale after 1.5 s, swept every 0.25 s, taken within a 0.25 s poll.
      expect(recovery).toBeLessThan(4_000)
      console.log(`SIGKILLed worker's job retried by another after ${(recovery / 1000).toFixed(1)} s`)
    } finally {
      expect(await stopAll([survivor])).toEqual([0])
      slow.close()
    }
  }, 60_000)

  it("SIGTERM mid-job: the job finishes, or past --shutdown-timeout rolls back and stays queued; exit 0", async () => {
    const slow = await slowFonte(1_000)
    try {
      const enqueue = (day: number, pipeline: string) =>
        Enqueue.enqueueRange({ databaseUrl: target.url, partitions: days(day, 1), pipeline, sourceUrl: slow.url })
      const inFlight = (worker: WorkerProcess, pipeline: string) =>
        waitFor("a job in flight", async () =>
          (await jobsOf(pipeline)).some((job) => job.locked_by === worker.id && slow.inFlight() > 0)
        )

      const patient = await startWorker([])
      await enqueue(30, "finish")
      await inFlight(patient, "finish")
      // Queued again while it runs: nothing is added behind it (graphile-worker's default would).
      expect(await enqueue(30, "finish")).toEqual({ added: 0, alreadyQueued: 1, requeued: 0 })
      patient.child.kill("SIGTERM")
      expect(await patient.exit).toBe(0)
      expect((await runsOf("finish")).map((run) => run.status)).toEqual(["succeeded"])
      expect(await jobsOf("finish")).toEqual([])

      const hasty = await startWorker(["--shutdown-timeout", "0"])
      await enqueue(31, "interrupt")
      await inFlight(hasty, "interrupt")
      hasty.child.kill("SIGTERM")
      expect(await hasty.exit).toBe(0)
      expect((await runsOf("interrupt")).map((run) => [run.status, run.error])).toEqual([["failed", "interrupted"]])
      // Back in the queue, unlocked, for another worker to retry after graphile-worker's backoff.
      expect((await jobsOf("interrupt")).map((job) => [job.attempts, job.locked_by])).toEqual([[1, null]])
    } finally {
      slow.close()
    }
  }, 60_000)

  it("enqueueing the same range twice adds no duplicate jobs; a job failed for good is queued afresh", async () => {
    const partitions = days(20, 10)
    const options = { databaseUrl: target.url, partitions, pipeline: "twice", sourceUrl: fonte.apiUrl }
    expect(await Enqueue.enqueueRange(options)).toEqual({ added: 10, alreadyQueued: 0, requeued: 0 })
    expect(await Enqueue.enqueueRange(options)).toEqual({ added: 0, alreadyQueued: 10, requeued: 0 })
    const jobs = await jobsOf("twice")
    expect(jobs.map((job) => job.key)).toEqual(partitions.map((partition) => `twice:UTC:${partition.day}`))

    await utils.permanentlyFailJobs([jobs[0]!.id], "given up")
    expect(await Queue.counts({ databaseUrl: target.url, pipeline: "twice" })).toEqual({
      waiting: 9,
      running: 0,
      failed: 1
    })
    expect(await Enqueue.enqueueRange({ ...options, partitions: days(20, 12) })).toEqual({
      added: 2,
      alreadyQueued: 9,
      requeued: 1
    })
    const after = await jobsOf("twice")
    expect(after.length).toBe(12)
    expect(after.every((job) => job.attempts === 0)).toBe(true)
  })

  it("a crontab tick queues yesterday and the lookback days as of the tick; overlapping ticks add only new days", async () => {
    const line = Schedule.crontabFor({ cron: "0 2 * * *", pipeline: "nightly", lookback: 2, sourceUrl: fonte.url })
    const tick = (ts: string) =>
      Schedule.task({ ...parseCrontab(line)[0]!.payload, _cron: { ts, backfilled: true } }, {
        withPgClient: utils.withPgClient,
        logger: utils.logger
      } as JobHelpers)
    await tick("2024-02-10T02:00:00.000Z")
    expect((await jobsOf("nightly")).map((job) => job.key)).toEqual([
      "nightly:UTC:2024-02-07",
      "nightly:UTC:2024-02-08",
      "nightly:UTC:2024-02-09"
    ])
    await tick("2024-02-11T02:00:00.000Z")
    expect((await jobsOf("nightly")).map((job) => job.key.slice(-10))).toEqual([
      "2024-02-07",
      "2024-02-08",
      "2024-02-09",
      "2024-02-10"
    ])
  })
})
