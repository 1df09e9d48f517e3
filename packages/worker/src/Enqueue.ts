/**
 * Queueing partitions: one `delfos_run_partition` job per partition, keyed `pipeline:zone:day`. A
 * partition whose job is waiting, retrying or running is never queued again; one whose job failed
 * for good is queued afresh. `backfill` first plans from the run ledger, as the in-process backfill
 * does. Enqueuers of one pipeline take turns, so what they read stays true until they commit.
 */
import { Backfill, Ledger, type Partition, type Partitions } from "@delfos/etl"
import { RunLedger } from "@delfos/etl-sink-postgres"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SqlClient from "effect/sql/SqlClient"
import * as Jobs from "./Jobs.ts"
import * as Queue from "./Queue.ts"

/**
 * Attempts per job unless told, as everywhere in the product. graphile-worker waits about e^n
 * seconds after the n-th failure (3 s, 7 s, 20 s, 55 s), so 5 attempts span about a minute and a half.
 */
export const defaultMaxAttempts = 5

/** What became of each partition asked for; the three add up to the partitions given (or planned). */
export interface EnqueueResult {
  /** Partitions with no job in the queue (never queued, or done since): a job was added. */
  readonly added: number
  /** Partitions whose job was waiting, waiting to be retried, or running: left as it is. */
  readonly alreadyQueued: number
  /** Partitions whose job had failed for good (attempts used up): replaced by a fresh job. */
  readonly requeued: number
}

/** A backfill's plan, and what became of the partitions it planned. */
export interface BackfillResult extends EnqueueResult {
  /** Partitions the ledger says need a run (`only`'s statuses, plus `force`): `added + alreadyQueued + requeued`. */
  readonly planned: number
  /** Partitions of the range left alone: their status is not in `only`. */
  readonly skipped: number
}

export interface EnqueueOptions extends Jobs.JobOptions {
  /** Attempts before a job fails for good; 5 by default (`defaultMaxAttempts`). */
  readonly maxAttempts?: number | undefined
}

export interface BackfillOptions extends EnqueueOptions {
  /** Which partitions to queue, by status in the ledger; `missing` and `failed` by default, as `Backfill`. */
  readonly only?: ReadonlyArray<Partitions.PartitionStatus> | undefined
  /** Days to queue whatever their status (a schedule's lookback for late data). */
  readonly force?: ReadonlyArray<Partition.Day> | undefined
}

// graphile-worker keeps attempts in a smallint.
const MaxAttempts = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 32_767 }))

const maxAttemptsOf = (given: number | undefined): Effect.Effect<number, Jobs.InvalidJob> =>
  Schema.decodeUnknownEffect(MaxAttempts)(given ?? defaultMaxAttempts).pipe(
    Effect.mapError(
      () => new Jobs.InvalidJob({ reason: `maxAttempts must be a whole number from 1 to 32767, got ${given}` })
    )
  )

/** Every partition's job with `options`, and the attempts; checked before any I/O. */
const jobsOf = (partitions: Iterable<Partition.Partition>, options: EnqueueOptions) =>
  Effect.all({
    jobs: Effect.forEach(partitions, (partition) => Jobs.make(partition, options)),
    maxAttempts: maxAttemptsOf(options.maxAttempts)
  })

/** Checks `options` as a job of `partition` would use them (`InvalidJob`), with no I/O. */
export const validate = (
  partition: Partition.Partition,
  options: EnqueueOptions
): Effect.Effect<void, Jobs.InvalidJob> => Effect.asVoid(jobsOf([partition], options))

const none: EnqueueResult = { added: 0, alreadyQueued: 0, requeued: 0 }

/** Enqueuers of one pipeline take turns until their transaction ends (jobs of other pipelines have other keys). */
const lockPipeline = (sql: SqlClient.SqlClient, pipeline: string) =>
  sql`SELECT pg_advisory_xact_lock(hashtextextended(${`delfos-etl-worker/enqueue/${pipeline}`}, 0))`

interface Existing {
  readonly id: string
  readonly key: string
  /** Attempts used up and not running: it will never run again unless queued afresh. */
  readonly failed: boolean
}

/** The jobs in the queue for `keys`, whatever their state. */
const existingJobs = (sql: SqlClient.SqlClient, keys: ReadonlyArray<string>) =>
  sql<Existing>`SELECT id::text AS id, key, (locked_at IS NULL AND attempts >= max_attempts) AS failed
    FROM graphile_worker.jobs
    WHERE task_identifier = ${Jobs.runPartitionTask} AND key = ANY(${keys}::text[])`

/**
 * Adds the jobs whose key had no job in `existing` (read earlier in this transaction, under the
 * pipeline's lock), and replaces those that had failed for good. `unsafe_dedupe` adds nothing where
 * a job with the key is there after all; graphile-worker's default mode (`replace`) would replace a
 * waiting job and queue a second one behind a running one.
 */
const addJobs = (
  sql: SqlClient.SqlClient,
  jobs: ReadonlyArray<Jobs.PartitionJob>,
  existing: ReadonlyArray<Existing>,
  maxAttempts: number
) =>
  Effect.gen(function* () {
    const specs = jobs.map((job) => ({ key: Jobs.key(job), payload: job }))
    const byKey = new Map(existing.map((job) => [job.key, job]))
    const failed = specs.flatMap((spec) => {
      const job = byKey.get(spec.key)
      return job?.failed === true ? [job] : []
    })
    // No job, or one that failed for good: a fresh job.
    const toAdd = specs.filter((spec) => byKey.get(spec.key)?.failed !== false)
    if (failed.length > 0) {
      // complete_jobs deletes only jobs that are not locked: nobody runs a job with no attempt left.
      yield* sql`SELECT count(*) FROM graphile_worker.complete_jobs(${failed.map((job) => job.id)}::bigint[])`
    }
    if (toAdd.length === 0) return { ...none, alreadyQueued: jobs.length }
    // revision 0 is a job just inserted; an existing one comes back with its revision bumped.
    const added = yield* sql<{ revision: number }>`SELECT job.revision
      FROM json_array_elements(${JSON.stringify(toAdd)}::json) AS spec (value)
      CROSS JOIN LATERAL graphile_worker.add_job(
        ${Jobs.runPartitionTask}::text,
        payload => spec.value -> 'payload',
        max_attempts => ${maxAttempts}::int,
        job_key => spec.value ->> 'key',
        job_key_mode => 'unsafe_dedupe'
      ) AS job`
    const inserted = added.filter((row) => row.revision === 0).length
    return { added: inserted - failed.length, alreadyQueued: jobs.length - inserted, requeued: failed.length }
  })

/**
 * Queues one job per partition, unless the partition's job is already waiting, retrying or
 * running; a job that failed for good is replaced. Done partitions have no job, so they are queued
 * again: this is a re-run (see `backfill` to queue only what the ledger says needs it). Options
 * are checked before any I/O (`InvalidJob`); one transaction.
 */
export const enqueue = (
  partitions: Iterable<Partition.Partition>,
  options: EnqueueOptions = {}
): Effect.Effect<EnqueueResult, Jobs.InvalidJob | Queue.QueueUnavailable, SqlClient.SqlClient | Queue.Queue> =>
  Effect.gen(function* () {
    const { jobs, maxAttempts } = yield* jobsOf(partitions, options)
    if (jobs.length === 0) return none
    const sql = yield* SqlClient.SqlClient
    return yield* Queue.transaction(
      Effect.gen(function* () {
        yield* lockPipeline(sql, jobs[0]!.pipeline)
        const existing = yield* existingJobs(sql, jobs.map(Jobs.key))
        return yield* addJobs(sql, jobs, existing, maxAttempts)
      })
    )
  }).pipe(Effect.withSpan("Enqueue.enqueue"))

/**
 * What `Backfill` does in process, through the queue: the partitions of the range the run ledger
 * says need a run (`only`, `missing` and `failed` by default, plus `force`), each queued unless its
 * job is already waiting, retrying or running. The queue is read before the ledger, under the
 * pipeline's lock, so a job that finishes meanwhile is seen done in the ledger or queued in the
 * queue, never neither: each partition runs once however often, and by how many, this is called.
 * Options are checked before any I/O (`InvalidJob`); one transaction.
 */
export const backfill = (
  partitions: ReadonlyArray<Partition.Partition>,
  options: BackfillOptions = {}
): Effect.Effect<BackfillResult, Jobs.InvalidJob | Queue.QueueUnavailable, SqlClient.SqlClient | Queue.Queue> =>
  Effect.gen(function* () {
    const { jobs, maxAttempts } = yield* jobsOf(partitions, options)
    if (jobs.length === 0) return { ...none, planned: 0, skipped: 0 }
    const pipeline = jobs[0]!.pipeline
    const sql = yield* SqlClient.SqlClient
    return yield* Queue.transaction(
      Effect.gen(function* () {
        yield* lockPipeline(sql, pipeline)
        const existing = yield* existingJobs(sql, jobs.map(Jobs.key))
        const ledger = yield* RunLedger.make
        const planned = yield* Backfill.plan(partitions, {
          name: pipeline,
          only: options.only,
          force: options.force
        }).pipe(Effect.provideService(Ledger.Ledger, ledger))
        const chosen = new Set(planned.map((partition) => `${partition.timeZone}:${partition.day}`))
        const plannedJobs = jobs.filter((job) => chosen.has(`${job.timeZone}:${job.day}`))
        const result = plannedJobs.length === 0 ? none : yield* addJobs(sql, plannedJobs, existing, maxAttempts)
        return { ...result, planned: plannedJobs.length, skipped: jobs.length - plannedJobs.length }
      })
    )
  }).pipe(Effect.withSpan("Enqueue.backfill"))

/**
 * `backfill` over a pool of its own, as a Promise: what `delfos-etl backfill --distributed` calls
 * until it runs `Enqueue.backfill` in its own program.
 *
 * @deprecated Use `Enqueue.backfill(partitions, options)` with `Queue.layer({ databaseUrl })`.
 */
export const enqueueRange = (
  options: BackfillOptions & {
    readonly databaseUrl?: string | undefined
    readonly partitions: Iterable<Partition.Partition>
  }
): Promise<BackfillResult> =>
  Effect.runPromise(
    backfill([...options.partitions], options).pipe(Effect.provide(Queue.layer({ databaseUrl: options.databaseUrl })))
  )
