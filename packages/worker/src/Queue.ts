/**
 * The job queue's database: graphile-worker's `graphile_worker` schema in the target database the
 * pipeline already writes, migrated on first use, so a queue needs no setup of its own.
 */
import { Connection } from "@delfos/postgres"
import * as Schema from "effect/Schema"
import { Logger, makeWorkerUtils, type WorkerUtils } from "graphile-worker"
import { runPartitionTask } from "./Jobs.ts"

/** graphile-worker's schema, its default; every process sharing a queue must use the same. */
export const schema = "graphile_worker"

/** No database URL was given and `DATABASE_URL` is not set. */
export class MissingDatabaseUrl extends Schema.TaggedError<MissingDatabaseUrl>()("MissingDatabaseUrl", {}) {
  override get message(): string {
    return "no database URL: pass `databaseUrl` (--database-url) or set DATABASE_URL"
  }
}

/** The queue's database could not be reached, or its schema could not be migrated. */
export class QueueUnavailable extends Schema.TaggedError<QueueUnavailable>()("QueueUnavailable", {
  /** The URL without user or password. */
  database: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `job queue unavailable at ${this.database}: ${this.reason}`
  }
}

/** The URL given, else `DATABASE_URL`; throws `MissingDatabaseUrl` when there is neither. */
export const databaseUrl = (given?: string | undefined, env: NodeJS.ProcessEnv = process.env): string => {
  const url = given ?? (env.DATABASE_URL === "" ? undefined : env.DATABASE_URL)
  if (url === undefined) throw new MissingDatabaseUrl()
  return url
}

/** A failure of the queue's database as `QueueUnavailable`, naming the database but never its password. */
export const unavailable = (url: string, error: unknown): QueueUnavailable =>
  new QueueUnavailable({ database: Connection.describe(url), reason: Connection.reasonOf(error) })

/** graphile-worker's log lines from `warning` up, on stderr: a library stays quiet unless something is wrong. */
export const quietLogger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") process.stderr.write(`delfos-etl-worker: ${level}: ${message}\n`)
})

/**
 * graphile-worker's utilities on `url`, its schema migrated first (a no-op when up to date; several
 * processes migrating at once is safe). Rejects with `QueueUnavailable`. Release it when done.
 */
export const open = async (url: string, logger: Logger = quietLogger): Promise<WorkerUtils> => {
  try {
    return await makeWorkerUtils({ connectionString: url, maxPoolSize: 2, schema, logger })
  } catch (error) {
    throw unavailable(url, error)
  }
}

/** A pipeline's partition jobs in the queue. Done jobs leave the queue: the run ledger keeps their outcome. */
export interface Counts {
  /** Waiting to run, or to be retried after a failed attempt. */
  readonly waiting: number
  readonly running: number
  /** Failed on every attempt; queued again by the next enqueue of their partition. */
  readonly failed: number
}

export interface CountOptions {
  /** The target database; `DATABASE_URL` when absent. */
  readonly databaseUrl?: string | undefined
  /** One pipeline's jobs; every pipeline's when absent. */
  readonly pipeline?: string | undefined
}

/** How many partition jobs are waiting, running and failed for good; rejects with `QueueUnavailable`. */
export const counts = async (options: CountOptions = {}): Promise<Counts> => {
  const url = databaseUrl(options.databaseUrl)
  const utils = await open(url)
  try {
    const result = await utils.withPgClient((client) =>
      client.query<Counts>(
        `SELECT
          count(*) FILTER (WHERE locked_at IS NULL AND attempts < max_attempts)::int AS waiting,
          count(*) FILTER (WHERE locked_at IS NOT NULL)::int AS running,
          count(*) FILTER (WHERE locked_at IS NULL AND attempts >= max_attempts)::int AS failed
        FROM ${schema}.jobs
        WHERE task_identifier = $1 AND ($2::text IS NULL OR split_part(key, ':', 1) = $2)`,
        [runPartitionTask, options.pipeline ?? null]
      )
    )
    return result.rows[0]!
  } catch (error) {
    throw unavailable(url, error)
  } finally {
    await utils.release()
  }
}
