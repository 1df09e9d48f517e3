/**
 * Queueing partitions: one `delfos_run_partition` job per day of the default series, keyed
 * `pipeline:zone:day`, and one per batch of up to `batchSize` turbines of one day, keyed
 * `pipeline:zone:day:A,B` (`Jobs.key`). A partition (a day, or a turbine-day) covered by a job
 * that is waiting, retrying or running is never queued again; one whose job failed for good is
 * queued afresh. `backfill` first plans from the run ledger, as the in-process backfill does.
 * Enqueuers of one pipeline take turns, so what they read stays true until they commit.
 */
import { Asset, Backfill, Ledger, Partition, type Partitions, Pipeline, Source } from "@delfos/etl"
import { RunLedger } from "@delfos/etl-sink-postgres"
import { HttpSource } from "@delfos/etl-source-http"
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

/** Turbines of one day per job unless told: the in-process pipeline's batch (`Pipeline.defaultBatchSize`). */
export const defaultBatchSize = Pipeline.defaultBatchSize

/**
 * What became of each partition asked for (a day of the default series, or a turbine-day); the
 * three add up to the partitions given (or planned).
 */
export interface EnqueueResult {
  /** Partitions no job in the queue covered (never queued, or done since): a job now does. */
  readonly added: number
  /** Partitions a job waiting, waiting to be retried, or running covers: left as it is. */
  readonly alreadyQueued: number
  /** Partitions whose job had failed for good (attempts used up): a fresh job now covers them. */
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
  /**
   * The turbines of each day given: ids (`["WTG01", "WTG02"]`), or `"all"`, those the source the
   * jobs read lists (`Source.assets` of the HTTP source at `sourceUrl`, the fonte's
   * `GET /turbines`), asked once per call. Absent: the partitions as given, each of its own turbine
   * (`Partition.forAssets`) or of the default series.
   */
  readonly assets?: ReadonlyArray<string> | "all" | undefined
  /** Attempts before a job fails for good; 5 by default (`defaultMaxAttempts`). */
  readonly maxAttempts?: number | undefined
  /**
   * Turbines of one day run by one job, extracted and loaded together (`Pipeline.batches`); 25 by
   * default, at most `Jobs.maxAssets` (50). A day of the default series is a job of its own.
   */
  readonly batchSize?: number | undefined
}

export interface BackfillOptions extends EnqueueOptions {
  /** Which partitions to queue, by status in the ledger; `missing` and `failed` by default, as `Backfill`. */
  readonly only?: ReadonlyArray<Partitions.PartitionStatus> | undefined
  /** Days to queue whatever their status (a schedule's lookback for late data), every turbine of them. */
  readonly force?: ReadonlyArray<Partition.Day> | undefined
}

// graphile-worker keeps attempts in a smallint.
const MaxAttempts = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 32_767 }))
const BatchSize = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: Jobs.maxAssets }))

const maxAttemptsOf = (given: number | undefined): Effect.Effect<number, Jobs.InvalidJob> =>
  Schema.decodeUnknownEffect(MaxAttempts)(given ?? defaultMaxAttempts).pipe(
    Effect.mapError(
      () => new Jobs.InvalidJob({ reason: `maxAttempts must be a whole number from 1 to 32767, got ${given}` })
    )
  )

const batchSizeOf = (given: number | undefined): Effect.Effect<number, Jobs.InvalidJob> =>
  Schema.decodeUnknownEffect(BatchSize)(given ?? defaultBatchSize).pipe(
    Effect.mapError(
      () =>
        new Jobs.InvalidJob({ reason: `batchSize must be a whole number from 1 to ${Jobs.maxAssets}, got ${given}` })
    )
  )

/**
 * The jobs of `partitions`: each day's turbines in `Asset.compare` order, cut into batches of
 * `batchSize` (`Pipeline.batches`), each a job; a day of the default series is a job of its own.
 */
const jobsOf = (partitions: ReadonlyArray<Partition.Partition>, options: Jobs.JobOptions, batchSize: number) =>
  Effect.forEach(Pipeline.batches([...partitions].sort(Partition.compare), batchSize), (batch) =>
    Jobs.ofBatch(batch, options)
  )

/** `options.assets` as ids, checked; `"all"` stays to be asked of the source. */
const namedAssets = (
  assets: EnqueueOptions["assets"]
): Effect.Effect<ReadonlyArray<Asset.AssetId> | "all" | undefined, Jobs.InvalidJob> =>
  assets === undefined || assets === "all"
    ? Effect.succeed(assets)
    : assets.length === 0
      ? Effect.fail(new Jobs.InvalidJob({ reason: 'assets is empty: name turbines such as WTG01, or "all"' }))
      : Effect.forEach(assets, (asset) =>
          Asset.parse(asset).pipe(Effect.mapError((error) => new Jobs.InvalidJob({ reason: error.message })))
        )

/**
 * The turbines `options.assets` names: its ids (`InvalidJob` for a bad one), or for `"all"` those
 * the HTTP source at `options.sourceUrl` lists (the source the jobs read; its `SourceError` when it
 * cannot say, `InvalidJob` when it lists none); `undefined` when absent.
 */
export const assets = (
  options: Pick<EnqueueOptions, "assets" | "sourceUrl">
): Effect.Effect<ReadonlyArray<Asset.AssetId> | undefined, Jobs.InvalidJob | Source.SourceError> =>
  Effect.gen(function* () {
    const named = yield* namedAssets(options.assets)
    if (named !== "all") return named
    const listed = yield* Effect.gen(function* () {
      const source = yield* Source.Source
      if (source.assets === undefined) {
        return yield* new Jobs.InvalidJob({ reason: `assets "all": the source ${source.name} does not list turbines` })
      }
      return yield* source.assets
    }).pipe(
      Effect.provide(HttpSource.layer({ baseUrl: options.sourceUrl ?? HttpSource.defaultBaseUrl })),
      Effect.catchTag("InvalidSourceUrl", (error) => Effect.fail(new Jobs.InvalidJob({ reason: error.message })))
    )
    if (listed.length === 0) {
      return yield* new Jobs.InvalidJob({
        reason: `assets "all": the source at ${options.sourceUrl ?? HttpSource.defaultBaseUrl} lists no turbines`
      })
    }
    return listed
  }).pipe(Effect.withSpan("Enqueue.assets"))

/** The partitions asked for (each day for `assets`, if given), once each, and the options checked; no I/O but for `"all"`. */
const settingsOf = (
  partitions: Iterable<Partition.Partition>,
  options: EnqueueOptions,
  listed: ReadonlyArray<Asset.AssetId> | undefined
) =>
  Effect.gen(function* () {
    const batchSize = yield* batchSizeOf(options.batchSize)
    const maxAttempts = yield* maxAttemptsOf(options.maxAttempts)
    const given = listed === undefined ? [...partitions] : Partition.forAssets([...partitions], listed)
    const byKey = new Map(given.map((partition) => [Partition.key(partition), partition]))
    const unique = [...byKey.values()]
    // Every job they could make, checked now: a bad option or partition fails before any I/O.
    yield* jobsOf(unique, options, batchSize)
    return { given: given.length, unique, batchSize, maxAttempts }
  })

/**
 * Checks `options` as a job of `partition` would use them (`InvalidJob`), with no I/O: the turbine
 * ids too, not yet which turbines `"all"` stands for.
 */
export const validate = (
  partition: Partition.Partition,
  options: EnqueueOptions
): Effect.Effect<void, Jobs.InvalidJob> =>
  Effect.flatMap(namedAssets(options.assets), (named) =>
    Effect.asVoid(settingsOf([partition], options, named === "all" ? undefined : named))
  )

/** `options.assets` resolved (asking the source for `"all"` only once every option is known good), then the settings. */
const resolved = (partitions: Iterable<Partition.Partition>, options: EnqueueOptions) =>
  Effect.gen(function* () {
    const list = [...partitions]
    if (list[0] !== undefined) yield* validate(list[0], options)
    return yield* settingsOf(list, options, yield* assets(options))
  })

const none: EnqueueResult = { added: 0, alreadyQueued: 0, requeued: 0 }

/** Enqueuers of one pipeline take turns until their transaction ends (jobs of other pipelines have other keys). */
const lockPipeline = (sql: SqlClient.SqlClient, pipeline: string) =>
  sql`SELECT pg_advisory_xact_lock(hashtextextended(${`delfos-etl-worker/enqueue/${pipeline}`}, 0))`

interface ExistingRow {
  readonly id: string
  readonly key: string
  /** Attempts used up and not running: it will never run again unless queued afresh. */
  readonly failed: boolean
}

/** A job in the queue and the partitions it covers. */
interface Existing extends ExistingRow {
  readonly covers: ReadonlyArray<string>
}

/** The pipeline's jobs in the queue for `days`, whatever their state, with the partitions their keys name. */
const existingJobs = (sql: SqlClient.SqlClient, pipeline: string, partitions: ReadonlyArray<Partition.Partition>) =>
  Effect.map(
    sql<ExistingRow>`SELECT id::text AS id, key, (locked_at IS NULL AND attempts >= max_attempts) AS failed
      FROM graphile_worker.jobs
      WHERE task_identifier = ${Jobs.runPartitionTask} AND split_part(key, ':', 1) = ${pipeline}
        AND split_part(key, ':', 3) = ANY(${[...new Set(partitions.map((partition) => partition.day))]}::text[])`,
    (rows) =>
      rows.flatMap((row): Array<Existing> => {
        const named = Jobs.parseKey(row.key)
        if (named === undefined) return []
        return [{ ...row, covers: Jobs.partitionsOf({ ...named.partition, assets: named.assets }).map(Partition.key) }]
      })
  )

/**
 * Queues `partitions` (read earlier in this transaction, under the pipeline's lock, with
 * `existing`): those a waiting, retrying or running job covers are left alone; the others are cut
 * into batches and a job added for each, and a job that failed for good is deleted once every
 * partition it covered is queued again. `unsafe_dedupe` adds nothing where a job with the key is
 * there after all; graphile-worker's default mode (`replace`) would replace a waiting job and
 * queue a second one behind a running one.
 */
const addJobs = (
  sql: SqlClient.SqlClient,
  partitions: ReadonlyArray<Partition.Partition>,
  existing: ReadonlyArray<Existing>,
  settings: { readonly batchSize: number; readonly maxAttempts: number; readonly options: EnqueueOptions }
) =>
  Effect.gen(function* () {
    const live = new Set(existing.filter((job) => !job.failed).flatMap((job) => job.covers))
    const toQueue = partitions.filter((partition) => !live.has(Partition.key(partition)))
    const alreadyQueued = partitions.length - toQueue.length
    if (toQueue.length === 0) return { ...none, alreadyQueued }
    const queued = new Set(toQueue.map(Partition.key))
    const failedCover = new Set(existing.filter((job) => job.failed).flatMap((job) => job.covers))
    const requeued = toQueue.filter((partition) => failedCover.has(Partition.key(partition))).length
    // A job that failed for good goes once a live job covers all it covered, or it is queued now;
    // one covering a turbine not asked for stays, failed, for that turbine (it never runs again).
    const replaced = existing.filter(
      (job) => job.failed && job.covers.every((covered) => queued.has(covered) || live.has(covered))
    )
    if (replaced.length > 0) {
      // complete_jobs deletes only jobs that are not locked: nobody runs a job with no attempt left.
      yield* sql`SELECT count(*) FROM graphile_worker.complete_jobs(${replaced.map((job) => job.id)}::bigint[])`
    }
    const jobs = yield* jobsOf(toQueue, settings.options, settings.batchSize)
    const specs = jobs.map((job) => ({ key: Jobs.key(job), payload: job }))
    // revision 0 is a job just inserted; an existing one comes back with its revision bumped.
    const added = yield* sql<{ revision: number }>`SELECT job.revision
      FROM json_array_elements(${JSON.stringify(specs)}::json) WITH ORDINALITY AS spec (value, n)
      CROSS JOIN LATERAL graphile_worker.add_job(
        ${Jobs.runPartitionTask}::text,
        payload => spec.value -> 'payload',
        max_attempts => ${settings.maxAttempts}::int,
        job_key => spec.value ->> 'key',
        job_key_mode => 'unsafe_dedupe'
      ) AS job
      ORDER BY spec.n`
    // Under the lock, a key found anyway would be a job another program queued with this package's key.
    const found = jobs
      .filter((_, i) => added[i]?.revision !== 0)
      .reduce((sum, job) => sum + Jobs.partitionsOf(job).length, 0)
    return { added: toQueue.length - requeued - found, alreadyQueued: alreadyQueued + found, requeued }
  })

/**
 * Queues `partitions` (days of the default series, turbine-days of a farm, or both; with
 * `assets`, each day for those turbines), the turbines of a day `batchSize` to a job, leaving alone
 * those a waiting, retrying or running job covers; a job that failed for good is replaced. Done
 * partitions have no job, so they are queued again: this is a re-run (see `backfill` to queue only
 * what the ledger says needs it). Options are checked before any I/O (`InvalidJob`); `"all"` is
 * asked of the source (`SourceError`) before the queue is touched; one transaction.
 */
export const enqueue = (
  partitions: Iterable<Partition.Partition>,
  options: EnqueueOptions = {}
): Effect.Effect<
  EnqueueResult,
  Jobs.InvalidJob | Source.SourceError | Queue.QueueUnavailable,
  SqlClient.SqlClient | Queue.Queue
> =>
  Effect.gen(function* () {
    const { batchSize, given, maxAttempts, unique } = yield* resolved(partitions, options)
    if (unique.length === 0) return none
    const pipeline = options.pipeline ?? Pipeline.defaultName
    const sql = yield* SqlClient.SqlClient
    const result = yield* Queue.transaction(
      Effect.gen(function* () {
        yield* lockPipeline(sql, pipeline)
        const existing = yield* existingJobs(sql, pipeline, unique)
        return yield* addJobs(sql, unique, existing, { batchSize, maxAttempts, options })
      })
    )
    // A partition given twice is queued once: the second is already queued.
    return { ...result, alreadyQueued: result.alreadyQueued + given - unique.length }
  }).pipe(Effect.withSpan("Enqueue.enqueue"))

/**
 * What `Backfill` does in process, through the queue: the partitions of the range the run ledger
 * says need a run (`only`, `missing` and `failed` by default, plus `force`), queued as `enqueue`
 * queues them (a turbine-day alone, whichever job its turbines were batched in). The queue is read
 * before the ledger, under the pipeline's lock, so a job that finishes meanwhile is seen done in
 * the ledger or queued in the queue, never neither: each partition runs once however often, and
 * by how many, this is called. Options are checked before any I/O (`InvalidJob`); one transaction.
 */
export const backfill = (
  partitions: ReadonlyArray<Partition.Partition>,
  options: BackfillOptions = {}
): Effect.Effect<
  BackfillResult,
  Jobs.InvalidJob | Source.SourceError | Queue.QueueUnavailable,
  SqlClient.SqlClient | Queue.Queue
> =>
  Effect.gen(function* () {
    const { batchSize, maxAttempts, unique } = yield* resolved(partitions, options)
    if (unique.length === 0) return { ...none, planned: 0, skipped: 0 }
    const pipeline = options.pipeline ?? Pipeline.defaultName
    const sql = yield* SqlClient.SqlClient
    return yield* Queue.transaction(
      Effect.gen(function* () {
        yield* lockPipeline(sql, pipeline)
        const existing = yield* existingJobs(sql, pipeline, unique)
        const ledger = yield* RunLedger.make
        const planned = yield* Backfill.plan(unique, {
          name: pipeline,
          only: options.only,
          force: options.force
        }).pipe(Effect.provideService(Ledger.Ledger, ledger))
        const result =
          planned.length === 0 ? none : yield* addJobs(sql, planned, existing, { batchSize, maxAttempts, options })
        return { ...result, planned: planned.length, skipped: unique.length - planned.length }
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
