/**
 * What the worker's tests share: the rule for skipping on the embedded database, a queue on a fresh
 * database, in-process workers, worker processes, a slow fonte, and reading the queue and ledger.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { createServer, type Server as HttpServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { TestDatabase } from "@delfos/test-utils"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Scope from "effect/Scope"
import type * as SqlClient from "effect/sql/SqlClient"
import * as Queue from "../src/Queue.ts"
import * as Worker from "../src/Worker.ts"

/**
 * graphile-worker needs a real server (LISTEN/NOTIFY, several connections per process); the
 * embedded database serves one session at a time. Appended to the name of every test skipped for it.
 */
export const needsPostgres = TestDatabase.onPglite
  ? " (skipped: graphile-worker needs a real Postgres, LISTEN/NOTIFY and several connections; set DATABASE_URL)"
  : ""

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const waitFor = async (what: string, condition: () => Promise<boolean>, timeout = 30_000) => {
  const started = Date.now()
  while (!(await condition())) {
    if (Date.now() - started > timeout) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** A fresh database and the queue on it, for one test file. */
export interface QueueDatabase {
  readonly url: string
  /** Runs an Effect with the queue (and its `SqlClient`) provided. */
  readonly run: <A, E>(effect: Effect.Effect<A, E, Queue.Queue | SqlClient.SqlClient>) => Promise<A>
  /** One statement's rows. */
  readonly query: <A extends object>(statement: string) => Promise<ReadonlyArray<A>>
  readonly release: () => Promise<void>
}

export const queueDatabase = async (): Promise<QueueDatabase> => {
  const database = await TestDatabase.acquire()
  const runtime = ManagedRuntime.make(Queue.layer({ databaseUrl: database.url, maxConnections: 4 }))
  // Migrated now: tests read and write the ledger's tables directly too.
  await runtime.context()
  return {
    url: database.url,
    run: (effect) => runtime.runPromise(effect),
    query: (statement) => TestDatabase.query(database.url, statement),
    release: async () => {
      await runtime.dispose()
      await database.release()
    }
  }
}

/** A worker in this process, stopped (gracefully) by `stop()`. */
export const startWorker = async (options: Worker.WorkerOptions) => {
  const scope = Scope.makeUnsafe()
  const worker = await Effect.runPromise(Worker.start(options).pipe(Scope.provide(scope)))
  return { id: worker.id, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** A worker process: `fixtures/worker.ts`, which runs `Worker.run` as `delfos-etl worker` does. */
export interface WorkerProcess {
  readonly child: ChildProcess
  /** graphile-worker's pool id, from the worker's first line. */
  readonly id: string
  readonly output: () => string
  readonly exit: Promise<number | null>
}

const fixture = join(import.meta.dirname, "fixtures", "worker.ts")

export const startWorkerProcess = async (
  databaseUrl: string,
  options: Omit<Worker.WorkerOptions, "databaseUrl"> = {}
): Promise<WorkerProcess> => {
  const child = spawn(process.execPath, [fixture, JSON.stringify({ ...options, databaseUrl })], {
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

/** SIGTERM to each process still running; their exit codes. */
export const stopAll = async (workers: ReadonlyArray<WorkerProcess>) => {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill("SIGTERM")
  return Promise.all(workers.map((worker) => worker.exit))
}

/** A fonte that answers each request after `delay` ms, so that a job can be caught in flight. */
export const slowFonte = async (upstream: string, delay: number) => {
  let inFlight = 0
  const server: HttpServer = createServer(async (request, response) => {
    inFlight++
    try {
      await sleep(delay)
      const answer = await fetch(`${upstream}${request.url}`)
      response.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text())
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

export interface JobRow {
  readonly id: string
  readonly key: string
  readonly attempts: number
  readonly locked_by: string | null
  readonly revision: number
}

/** A pipeline's jobs in the queue, by key. */
export const jobsOf = (db: QueueDatabase, pipeline: string) =>
  db.query<JobRow>(
    `SELECT id::text, key, attempts, locked_by, revision FROM graphile_worker.jobs
    WHERE key LIKE '${pipeline}:%' ORDER BY key`
  )

export interface RunRow {
  readonly day: string
  readonly status: string
  readonly attempt: number
  readonly error: string | null
  readonly runner: string | null
}

/** A pipeline's runs in the ledger, by day and attempt. */
export const runsOf = (db: QueueDatabase, pipeline: string) =>
  db.query<RunRow>(
    `SELECT partition_day::text AS day, status, attempt, error, runner FROM etl_run
    WHERE pipeline = '${pipeline}' ORDER BY partition_day, attempt`
  )
