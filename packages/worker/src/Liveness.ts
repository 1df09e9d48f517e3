/**
 * Dead-worker recovery: each worker pool keeps a heartbeat row, and the live ones give the jobs of a
 * silent pool back to the queue (graphile-worker alone would wait 4 hours). Why: see the README.
 */
import { hostname } from "node:os"
import type { Logger, WithPgClient } from "graphile-worker"
import * as Queue from "./Queue.ts"

/** The heartbeat table, next to the ledger's `etl_run` in the target database. */
export const table = "etl_worker"

/** How often a pool writes its heartbeat (and looks for dead pools), unless told: 5 seconds. */
export const defaultHeartbeatInterval = 5_000

/** How long a silent pool counts as alive, unless told: 30 seconds (six missed heartbeats). */
export const defaultStaleAfter = 30_000

export interface LivenessOptions {
  /** Milliseconds between heartbeats (and sweeps for dead pools); 5,000 by default. */
  readonly heartbeatInterval?: number | undefined
  /** Milliseconds without a heartbeat after which a pool is dead and its jobs are retried; 30,000 by default. */
  readonly staleAfter?: number | undefined
}

/** A job taken back from a dead pool. */
export interface RecoveredJob {
  readonly id: string
  readonly key: string | null
  readonly taskIdentifier: string
  /** The dead pool's id. */
  readonly lockedBy: string
  readonly lockedAt: Date
}

export interface Options {
  readonly withPgClient: WithPgClient
  /** Only jobs of these tasks are recovered: other applications may share the queue with other rules. */
  readonly tasks: ReadonlyArray<string>
  readonly heartbeatInterval: number
  readonly staleAfter: number
  readonly concurrency: number
  readonly logger: Logger
  /** Runs before a dead pool's jobs are unlocked, while no other worker can have started them again. */
  readonly onRecover?: ((jobs: ReadonlyArray<RecoveredJob>) => Promise<void>) | undefined
}

export interface Liveness {
  /** The graphile-config plugin that registers the pool before its first job. */
  readonly plugin: GraphileConfig.Plugin
  /** The pool's id (graphile-worker's `locked_by`) once registered. */
  readonly poolId: () => string | undefined
  /** Stops the heartbeat and removes the pool's row: call it after the pool has stopped. */
  readonly stop: () => Promise<void>
}

/** Creates the heartbeat table if it is missing; several processes may start at once. */
export const migrate = (withPgClient: WithPgClient): Promise<void> =>
  withPgClient(async (client) => {
    await client.query("BEGIN")
    try {
      // CREATE TABLE IF NOT EXISTS is not safe against itself: two at once can both try to create.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('delfos-etl-worker/migrate'))")
      await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
        id text PRIMARY KEY,
        host text NOT NULL,
        pid integer NOT NULL,
        concurrency integer NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        last_seen timestamptz NOT NULL DEFAULT now()
      )`)
      await client.query("COMMIT")
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined)
      throw error
    }
  })

interface StaleRow {
  readonly id: string
  readonly key: string | null
  readonly task_identifier: string
  readonly locked_by: string
  readonly locked_at: Date
}

const milliseconds = "make_interval(secs => $2::float8 / 1000)"

/**
 * Liveness for one worker pool. Its plugin's `startWorker` hook, which graphile-worker awaits before
 * a worker asks for its first job, writes the pool's first heartbeat: no job is ever locked by a pool
 * that has none. Each heartbeat is followed by a sweep for dead pools; one sweeper at a time.
 */
export const make = (options: Options): Liveness => {
  const { heartbeatInterval, logger, staleAfter, withPgClient } = options
  let poolId: string | undefined
  let registered: Promise<void> | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let current: Promise<void> = Promise.resolve()
  let stopped = false

  const beat = (id: string) =>
    withPgClient((client) =>
      client.query(
        `INSERT INTO ${table} (id, host, pid, concurrency) VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO UPDATE SET last_seen = now()`,
        [id, hostname(), process.pid, options.concurrency]
      )
    )

  const sweep = () =>
    withPgClient(async (client) => {
      await client.query("BEGIN")
      try {
        const lock = await client.query<{ locked: boolean }>(
          "SELECT pg_try_advisory_xact_lock(hashtext('delfos-etl-worker/sweep')) AS locked"
        )
        if (lock.rows[0]?.locked !== true) {
          await client.query("COMMIT")
          return
        }
        // A pool with no row was swept before (or never ran this code): its lock time counts instead.
        const stale = await client.query<StaleRow>(
          `SELECT j.id::text AS id, j.key, j.task_identifier, j.locked_by, j.locked_at
          FROM ${Queue.schema}.jobs AS j LEFT JOIN ${table} AS w ON w.id = j.locked_by
          WHERE j.locked_by IS NOT NULL AND j.task_identifier = ANY($1::text[])
            AND coalesce(w.last_seen, j.locked_at) < now() - ${milliseconds}`,
          [options.tasks, staleAfter]
        )
        const jobs = stale.rows.map(
          (row): RecoveredJob => ({
            id: row.id,
            key: row.key,
            taskIdentifier: row.task_identifier,
            lockedBy: row.locked_by,
            lockedAt: row.locked_at
          })
        )
        if (jobs.length > 0) {
          // Recording comes first, but must not keep the jobs locked for another four hours if it fails.
          await options.onRecover?.(jobs).catch((error: unknown) => {
            logger.error(`could not record the abandoned runs of dead workers: ${String(error)}`, { error })
          })
          await client.query(`SELECT ${Queue.schema}.force_unlock_workers($1::text[])`, [
            [...new Set(jobs.map((job) => job.lockedBy))]
          ])
        }
        await client.query(`DELETE FROM ${table} WHERE last_seen < now() - make_interval(secs => $1::float8 / 1000)`, [
          staleAfter
        ])
        await client.query("COMMIT")
        for (const job of jobs) {
          logger.warn(
            `job ${job.id} (${job.key ?? job.taskIdentifier}) of dead worker ${job.lockedBy} is queued again ` +
              `(no heartbeat for ${staleAfter / 1000}s)`
          )
        }
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined)
        throw error
      }
    })

  const loop = async (id: string) => {
    try {
      await beat(id)
      await sweep()
    } catch (error) {
      // The database may be down for a moment: the next beat tries again, and the pool's jobs are
      // failing anyway meanwhile.
      logger.warn(`heartbeat of ${id} failed: ${String(error)}`, { error })
    }
    if (!stopped) {
      timer = setTimeout(() => {
        current = loop(id)
      }, heartbeatInterval)
    }
  }

  const register = (id: string): Promise<void> => {
    registered ??= (async () => {
      poolId = id
      await beat(id)
      if (!stopped) {
        timer = setTimeout(() => {
          current = loop(id)
        }, heartbeatInterval)
      }
    })()
    return registered
  }

  const plugin: GraphileConfig.Plugin = {
    name: "DelfosEtlWorkerLiveness",
    version: "0.1.0",
    description: "Registers each worker pool's heartbeat before its first job (see @delfos/etl-worker's Liveness)",
    worker: {
      hooks: {
        startWorker: (_context, event) => register(event.worker.workerPool.id)
      }
    }
  }

  const stop = async () => {
    stopped = true
    if (timer !== undefined) clearTimeout(timer)
    // A registration under way would otherwise write its row after the delete below.
    await registered?.catch(() => undefined)
    if (timer !== undefined) clearTimeout(timer)
    await current
    if (poolId !== undefined) {
      const id = poolId
      await withPgClient((client) => client.query(`DELETE FROM ${table} WHERE id = $1`, [id])).catch(
        (error: unknown) => {
          logger.warn(`could not remove the heartbeat of ${id}: ${String(error)}`, { error })
        }
      )
    }
  }

  return { plugin, poolId: () => poolId, stop }
}
