/**
 * A year through the job queue: 365 daily partitions enqueued at once and run by worker processes
 * (`test/fixtures/worker.ts`: `Worker.start`, from source) from the fonte server in this process, on local Postgres into
 * local Postgres. Wall time from the enqueue to the last job done; then the same again (unchanged
 * data: the sink writes nothing). DATABASE_URL names the server (default the local one); the bench
 * creates and drops its own databases. Run: `npm run bench -w @delfos/etl-worker`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { cpus } from "node:os"
import { join } from "node:path"
import { Partition } from "@delfos/etl"
import { TestDatabase, TestFonte } from "@delfos/test-utils"
import * as Effect from "effect/Effect"
import * as Enqueue from "../src/Enqueue.ts"
import * as Queue from "../src/Queue.ts"

const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const fixture = join(import.meta.dirname, "..", "test", "fixtures", "worker.ts")
const setups = [
  { processes: 2, concurrency: 2 },
  { processes: 1, concurrency: 1 }
]

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const startWorker = async (url: string, concurrency: number): Promise<ChildProcess> => {
  const child = spawn(process.execPath, [fixture, JSON.stringify({ databaseUrl: url, concurrency })], {
    stdio: ["ignore", "ignore", "pipe"]
  })
  let output = ""
  child.stderr?.on("data", (chunk) => {
    output += chunk
  })
  while (!output.includes("taking jobs")) {
    if (child.exitCode !== null) throw new Error(`worker did not start:\n${output}`)
    await sleep(10)
  }
  return child
}

// The fonte on a fresh database of its own on that server (dropped at the end), seeded with 2023.
const fonte = await TestFonte.start({ startDate: "2023-01-01", days: 365 }, { serverUrl: admin })
try {
  const partitions = Partition.days(Partition.Day.make("2023-01-01"), Partition.Day.make("2023-12-31")).map((day) =>
    Partition.makeUnsafe(day)
  )

  console.log(`365 partitions through graphile-worker (Node ${process.version}, ${cpus().length} CPUs)\n`)
  console.log("| worker processes × concurrency | run | wall time | partitions/s | samples read/s |")
  console.log("|---|---|---:|---:|---:|")
  for (const { concurrency, processes } of setups) {
    const target = await TestDatabase.acquirePostgres(admin)
    const workers = await Promise.all(Array.from({ length: processes }, () => startWorker(target.url, concurrency)))
    try {
      for (const run of ["empty target", "again, same data"]) {
        const count = async () =>
          (
            await TestDatabase.query<{ runs: number; samples: number }>(
              target.url,
              `SELECT count(*)::int AS runs, coalesce(sum(samples_read), 0)::int AS samples
              FROM etl_run WHERE status = 'succeeded'`
            )
          )[0]!
        const before = await count()
        const started = performance.now()
        await Effect.runPromise(
          Enqueue.enqueue(partitions, { sourceUrl: fonte.apiUrl }).pipe(
            Effect.provide(Queue.layer({ databaseUrl: target.url }))
          )
        )
        for (;;) {
          const [left] = await TestDatabase.query<{ n: number }>(
            target.url,
            "SELECT count(*)::int AS n FROM graphile_worker.jobs"
          )
          if (left!.n === 0) break
          await sleep(20)
        }
        const seconds = (performance.now() - started) / 1000
        const after = await count()
        if (after.runs - before.runs !== 365)
          throw new Error(`expected 365 runs to succeed, got ${after.runs - before.runs}`)
        const samples = (after.samples - before.samples) / seconds
        console.log(
          `| ${processes} × ${concurrency} | ${run} | ${seconds.toFixed(2)} s | ${(365 / seconds).toFixed(0)} | ` +
            `${Math.round(samples).toLocaleString("en-US")} |`
        )
      }
    } finally {
      for (const worker of workers) worker.kill("SIGTERM")
      await Promise.all(workers.map((worker) => (worker.exitCode === null ? once(worker, "exit") : undefined)))
      await target.release()
    }
  }
} finally {
  await fonte.close()
}
