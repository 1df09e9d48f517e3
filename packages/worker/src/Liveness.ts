/**
 * Dead-worker recovery on the run ledger's heartbeat, the one liveness rule of the product: a job's
 * sign of life is the latest `heartbeat_at` of the runs it started, one per partition it covers
 * (before they exist, the time it was locked). A worker pool all of whose jobs have shown none for `staleAfter` is dead: its runs are
 * recorded as abandoned and its jobs given back to the queue (graphile-worker alone waits 4 hours).
 */
import { RunLedger } from "@delfos/etl-sink-postgres"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as SqlClient from "effect/sql/SqlClient"
import * as Jobs from "./Jobs.ts"
import * as Queue from "./Queue.ts"

/** A job taken back from a dead worker pool. */
export interface RecoveredJob {
  readonly id: string
  readonly key: string | null
  /** The dead pool's id (graphile-worker's `locked_by`). */
  readonly lockedBy: string
  readonly lockedAt: Date
  /** Its latest run in the ledger, when it had started one; if still `running`, recorded as failed, abandoned. */
  readonly runId: number | null
  /** Its runs since the lock, one per partition of its batch (a turbine-day); empty before they started. */
  readonly runIds: ReadonlyArray<number>
  /** Its last sign of life: its runs' latest heartbeat, or its lock before they existed. */
  readonly lastSeen: Date
}

export interface SweepOptions {
  /** Silence after which a job's worker counts as dead; the `Runner`'s `staleAfter` (30 s by default). */
  readonly staleAfter: Duration.Input
}

interface LockedJob {
  readonly id: string
  readonly key: string | null
  readonly locked_by: string
  readonly locked_at: Date
  readonly run_id: number | null
  readonly run_ids: ReadonlyArray<number> | null
  readonly running_ids: ReadonlyArray<number> | null
  readonly last_seen: Date
  readonly stale: boolean
}

/** The message an abandoned run is recorded with. */
const abandonedBecause = (pool: string, staleAfter: number): string =>
  `abandoned: worker ${pool} stopped (no heartbeat for ${staleAfter / 1000}s)`

/**
 * One look for dead worker pools, by one worker at a time (the others skip it): the runs of each
 * dead pool still `running` are recorded as failed (abandoned) and its jobs unlocked
 * (`force_unlock_workers`), in one transaction; any worker then takes them at its next poll. The
 * attempt the dead pool used counts, so `maxAttempts` still bounds a job that kills its worker
 * every time. Returns the jobs given back.
 */
export const sweep = (
  options: SweepOptions
): Effect.Effect<ReadonlyArray<RecoveredJob>, Queue.QueueUnavailable, SqlClient.SqlClient | Queue.Queue> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const staleAfter = Duration.toMillis(options.staleAfter)
    return yield* Queue.transaction(
      Effect.gen(function* () {
        const [lock] = yield* sql<{ locked: boolean }>`SELECT
          pg_try_advisory_xact_lock(hashtextextended('delfos-etl-worker/sweep', 0)) AS locked`
        if (lock?.locked !== true) return []
        // A job's runs: those of the partitions its key names (its day's default series, or each
        // turbine of its batch) started by its pool since the lock. Every time is the database's.
        const jobs = yield* sql<LockedJob>`SELECT j.id::text AS id, j.key, j.locked_by, j.locked_at,
            r.run_id, r.run_ids, r.running_ids, coalesce(r.heartbeat_at, j.locked_at) AS last_seen,
            coalesce(r.heartbeat_at, j.locked_at) < now() - make_interval(secs => ${staleAfter / 1000}) AS stale
          FROM graphile_worker.jobs AS j
          CROSS JOIN LATERAL (
            SELECT regexp_match(j.key, '^([^:]+):([^:]+):(\\d{4}-\\d{2}-\\d{2})(?::([^:]+))?$') AS part
          ) AS k
          CROSS JOIN LATERAL (
            SELECT max(id) AS run_id, array_agg(id ORDER BY id) AS run_ids,
              array_agg(id ORDER BY id) FILTER (WHERE status = 'running') AS running_ids,
              max(heartbeat_at) AS heartbeat_at
            FROM etl_run
            WHERE pipeline = k.part[1] AND time_zone = k.part[2] AND partition_day = k.part[3]::date
              AND asset = ANY(coalesce(string_to_array(k.part[4], ','), ARRAY['']))
              AND runner = j.locked_by AND started_at >= j.locked_at
          ) AS r
          WHERE j.task_identifier = ${Jobs.runPartitionTask} AND j.locked_by IS NOT NULL`
        // A pool is dead when none of its jobs shows a sign of life: a pool that beats for one job
        // is alive, and its other jobs are its business.
        const alive = new Set(jobs.filter((job) => !job.stale).map((job) => job.locked_by))
        const dead = jobs.filter((job) => !alive.has(job.locked_by))
        if (dead.length === 0) return []
        const running = dead.flatMap((job) => job.running_ids ?? [])
        if (running.length > 0) {
          // Locked, and checked again: a run that ended meanwhile keeps its outcome.
          const still = yield* sql<{ id: number; runner: string }>`SELECT id, runner FROM etl_run
            WHERE id = ANY(${running}::int[]) AND status = 'running'
            FOR UPDATE`
          const ledger = yield* RunLedger.make
          yield* Effect.forEach(still, (run) => ledger.fail([run.id], abandonedBecause(run.runner, staleAfter)), {
            discard: true
          })
        }
        const pools = [...new Set(dead.map((job) => job.locked_by))]
        yield* sql`SELECT graphile_worker.force_unlock_workers(${pools}::text[])`
        return dead.map(
          (job): RecoveredJob => ({
            id: job.id,
            key: job.key,
            lockedBy: job.locked_by,
            lockedAt: job.locked_at,
            runId: job.run_id,
            runIds: job.run_ids ?? [],
            lastSeen: job.last_seen
          })
        )
      })
    )
  }).pipe(Effect.withSpan("Liveness.sweep"))

export interface RunOptions extends SweepOptions {
  /** Time between sweeps: the `Runner`'s `heartbeatInterval` (5 s by default). */
  readonly interval: Duration.Input
}

/**
 * Sweeps now and then every `interval`, forever: what each worker runs beside its jobs. A failed
 * sweep (the database away for a moment) is logged and the next one tries again.
 */
export const run = (options: RunOptions): Effect.Effect<never, never, SqlClient.SqlClient | Queue.Queue> =>
  sweep(options).pipe(
    Effect.tap((jobs) =>
      Effect.forEach(
        jobs,
        (job) =>
          Effect.logWarning(
            `job ${job.id} (${job.key ?? "no key"}) of dead worker ${job.lockedBy} is queued again ` +
              `(no sign of life since ${job.lastSeen.toISOString()})`
          ),
        { discard: true }
      )
    ),
    Effect.catch((error) => Effect.logWarning(`looking for dead workers failed: ${error.message}`)),
    Effect.repeat(Schedule.spaced(options.interval)),
    Effect.andThen(Effect.never)
  )
