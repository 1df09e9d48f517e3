/**
 * Queueing partitions: one `delfos_run_partition` job per partition, keyed `pipeline:zone:day`, so a
 * partition is never queued twice; the newest options win until its job starts. One transaction per range.
 */
import type { Partition } from "@delfos/etl"
import type { Logger, WithPgClient } from "graphile-worker"
import * as Jobs from "./Jobs.ts"
import * as Queue from "./Queue.ts"

/** Attempts per job unless told: with graphile-worker's backoff (e^n s) the last comes ~3.7 h after the first. */
export const defaultMaxAttempts = 10

/** What became of each partition asked for; the three add up to the partitions given. */
export interface EnqueueResult {
  /** Partitions with no job in the queue (never queued, or done since): a job was added. */
  readonly added: number
  /**
   * Partitions that had a job waiting (or waiting to retry) or running. A waiting one was replaced by
   * a fresh job with these options; a running one is left to finish. Either way, one job per partition.
   */
  readonly alreadyQueued: number
  /** Partitions whose job had failed for good (attempts used up): replaced by a fresh job. */
  readonly requeued: number
}

export interface AddOptions {
  /** Attempts before a job fails for good; 10 by default. */
  readonly maxAttempts?: number | undefined
}

const maxAttemptsOf = (given: number | undefined): number => {
  const maxAttempts = given ?? defaultMaxAttempts
  // graphile-worker keeps attempts in a smallint.
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 32_767) {
    throw new Jobs.InvalidJob({ reason: `maxAttempts must be a whole number from 1 to 32767, got ${maxAttempts}` })
  }
  return maxAttempts
}

/**
 * Adds `jobs` through a graphile-worker client (`WorkerUtils`, or a task's helpers) in one
 * transaction. First the partitions' jobs that are not running are removed (`complete_jobs` deletes
 * only unlocked jobs, atomically, so a job a worker takes meanwhile is kept); then each job is added
 * with `jobKeyMode: "unsafe_dedupe"`, which adds nothing where a job with its key is left: a running
 * one. graphile-worker's default mode (`replace`) would queue a second job behind a running one.
 */
export const addJobs = async (
  withPgClient: WithPgClient,
  jobs: ReadonlyArray<Jobs.PartitionJob>,
  options: AddOptions = {}
): Promise<EnqueueResult> => {
  const maxAttempts = maxAttemptsOf(options.maxAttempts)
  if (jobs.length === 0) return { added: 0, alreadyQueued: 0, requeued: 0 }
  const specs = jobs.map((job) => ({ key: Jobs.key(job), payload: job }))
  return withPgClient(async (client) => {
    await client.query("BEGIN")
    try {
      const removed = await client.query<{ failed: boolean }>(
        `SELECT attempts >= max_attempts AS failed FROM ${Queue.schema}.complete_jobs(ARRAY(
          SELECT id FROM ${Queue.schema}.jobs
          WHERE key = ANY($1::text[]) AND task_identifier = $2 AND locked_at IS NULL
        ))`,
        [specs.map((spec) => spec.key), Jobs.runPartitionTask]
      )
      // revision 0 is a job just inserted; an existing one comes back with its revision bumped.
      const added = await client.query<{ revision: number }>(
        `SELECT job.revision
        FROM json_array_elements($1::json) WITH ORDINALITY AS spec (value, position)
        CROSS JOIN LATERAL ${Queue.schema}.add_job(
          $2::text,
          payload => spec.value -> 'payload',
          max_attempts => $3::int,
          job_key => spec.value ->> 'key',
          job_key_mode => 'unsafe_dedupe'
        ) AS job
        ORDER BY spec.position`,
        [JSON.stringify(specs), Jobs.runPartitionTask, maxAttempts]
      )
      await client.query("COMMIT")
      const inserted = added.rows.filter((row) => row.revision === 0).length
      const requeued = removed.rows.filter((row) => row.failed).length
      const replaced = removed.rows.length - requeued
      return {
        added: inserted - removed.rows.length,
        alreadyQueued: replaced + jobs.length - inserted,
        requeued
      }
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined)
      throw error
    }
  })
}

export interface EnqueueOptions extends Jobs.JobOptions, AddOptions {
  /** The target database, which holds the queue too; `DATABASE_URL` when absent. */
  readonly databaseUrl?: string | undefined
  /** The partitions to run, e.g. from `Partition.parseRange(from, to)`. */
  readonly partitions: Iterable<Partition.Partition>
  /** graphile-worker's logger; warnings and errors on stderr by default. */
  readonly logger?: Logger | undefined
}

/**
 * Queues one job per partition (migrating the queue's schema on first use) and says how many were
 * added, already queued (replaced if waiting, left if running), or requeued after failing for good.
 * Options are checked before any I/O (throws `InvalidJob`); a database failure rejects with
 * `QueueUnavailable`.
 */
export const enqueueRange = async (options: EnqueueOptions): Promise<EnqueueResult> => {
  const jobs = [...options.partitions].map((partition) => Jobs.make(partition, options))
  maxAttemptsOf(options.maxAttempts)
  const url = Queue.databaseUrl(options.databaseUrl)
  const utils = await Queue.open(url, options.logger)
  try {
    return await addJobs(utils.withPgClient, jobs, options)
  } catch (error) {
    throw Queue.unavailable(url, error)
  } finally {
    await utils.release()
  }
}
