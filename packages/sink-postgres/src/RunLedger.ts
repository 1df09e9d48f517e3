/**
 * The run ledger: one `etl_run` row per attempt at a partition (running, then succeeded or failed,
 * with what it read and wrote), so the CLI and an orchestrator can tell which days are done, which
 * failed and how often each was tried.
 */
import { Partition, Pipeline, type RunReport, type Sink, type Source } from "@delfos/etl"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"
import * as Connection from "./Connection.ts"
import * as Migrations from "./Migrations.ts"

export const Status = Schema.Literals(["running", "succeeded", "failed"])
export type Status = typeof Status.Type

/** One attempt at one partition. Counts are `null` until the run finishes. */
export interface Run {
  readonly id: number
  readonly pipeline: string
  readonly day: Partition.Day
  readonly timeZone: Partition.TimeZone
  readonly status: Status
  /** 1 for a partition's first run, then one more for each later run of the same pipeline and partition. */
  readonly attempt: number
  readonly samplesRead: number | null
  readonly rowsWritten: number | null
  readonly rowsDeleted: number | null
  /** ISO 8601, UTC, by the database's clock. */
  readonly startedAt: string
  readonly finishedAt: string | null
  readonly error: string | null
}

/** Days to look at in `history`, both included; every day when absent. */
export interface HistoryOptions {
  readonly from?: Partition.Day | undefined
  readonly to?: Partition.Day | undefined
}

/** The ledger could not be read or written. */
export class RunLedgerError extends Schema.TaggedError<RunLedgerError>()("RunLedgerError", {
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `run ledger: ${this.operation} failed: ${this.reason}`
  }
}

export class RunLedger extends Context.Service<
  RunLedger,
  {
    /** Records a new run of `partition` as `running`, numbered after the earlier ones; returns its id. */
    readonly start: (pipeline: string, partition: Partition.Partition) => Effect.Effect<number, RunLedgerError>
    /** Records how a run ended, from the pipeline's report (`succeeded` or `failed`, counts, error). */
    readonly finish: (runId: number, report: RunReport.RunReport) => Effect.Effect<void, RunLedgerError>
    /** Records a run as failed for a reason the pipeline did not report (interrupted, crashed). */
    readonly fail: (runId: number, error: string) => Effect.Effect<void, RunLedgerError>
    /** The latest run of each partition of `pipeline`, by day then time zone. */
    readonly history: (pipeline: string, options?: HistoryOptions) => Effect.Effect<ReadonlyArray<Run>, RunLedgerError>
    /** Every run of one partition, first attempt first. */
    readonly runs: (
      pipeline: string,
      partition: Partition.Partition
    ) => Effect.Effect<ReadonlyArray<Run>, RunLedgerError>
  }
>()("@delfos/etl-sink-postgres/RunLedger") {}

interface RunRow {
  readonly id: number
  readonly pipeline: string
  readonly day: string
  readonly time_zone: string
  readonly status: Status
  readonly attempt: number
  readonly samples_read: number | null
  readonly rows_written: number | null
  readonly rows_deleted: number | null
  readonly started_at: Date
  readonly finished_at: Date | null
  readonly error: string | null
}

const toRun = (row: RunRow): Run => ({
  id: row.id,
  pipeline: row.pipeline,
  day: row.day as Partition.Day,
  timeZone: row.time_zone as Partition.TimeZone,
  status: row.status,
  attempt: row.attempt,
  samplesRead: row.samples_read,
  rowsWritten: row.rows_written,
  rowsDeleted: row.rows_deleted,
  startedAt: row.started_at.toISOString(),
  finishedAt: row.finished_at === null ? null : row.finished_at.toISOString(),
  error: row.error
})

// Two starts of one partition at once may read the same latest attempt; the unique index turns the
// slower one's insert into a unique violation, and it counts again.
const isAttemptTaken = (error: SqlError.SqlError) => error.reason._tag === "UniqueViolation"

const failed = (operation: string) => (error: unknown) =>
  new RunLedgerError({ operation, reason: Connection.reasonOf(error) })

/** The ledger over the `SqlClient` in context; it expects the migrations to have run. */
export const make: Effect.Effect<RunLedger["Service"], never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const columns = sql`id, pipeline, partition_day::text AS day, time_zone, status, attempt, samples_read,
    rows_written, rows_deleted, started_at, finished_at, error`

  const start = (pipeline: string, partition: Partition.Partition) =>
    sql<{ id: number }>`INSERT INTO etl_run (pipeline, partition_day, time_zone, status, attempt)
      SELECT ${pipeline}, ${partition.day}::date, ${partition.timeZone}, 'running', coalesce(max(attempt), 0) + 1
      FROM etl_run
      WHERE pipeline = ${pipeline} AND partition_day = ${partition.day}::date AND time_zone = ${partition.timeZone}
      RETURNING id`.pipe(
      Effect.retry({ times: 10, while: isAttemptTaken }),
      Effect.map((rows) => rows[0]!.id),
      Effect.mapError(failed(`start ${pipeline} ${Partition.format(partition)}`))
    )

  const end = (operation: string, runId: number, update: Effect.Effect<ReadonlyArray<unknown>, SqlError.SqlError>) =>
    update.pipe(
      Effect.mapError(failed(`${operation} run ${runId}`)),
      Effect.flatMap((rows) =>
        rows.length === 1
          ? Effect.void
          : Effect.fail(new RunLedgerError({ operation: `${operation} run ${runId}`, reason: "no such run" }))
      )
    )

  const finish = (runId: number, report: RunReport.RunReport) =>
    end(
      "finish",
      runId,
      sql`UPDATE etl_run SET
        status = ${report.status},
        samples_read = ${report.samplesRead},
        rows_written = ${report.rowsWritten},
        rows_deleted = ${report.rowsDeleted},
        finished_at = now(),
        error = ${report.error === undefined ? null : `${report.error.tag}: ${report.error.message}`}
      WHERE id = ${runId}
      RETURNING id`
    )

  const fail = (runId: number, error: string) =>
    end(
      "fail",
      runId,
      sql`UPDATE etl_run SET status = 'failed', finished_at = now(), error = ${error}
      WHERE id = ${runId}
      RETURNING id`
    )

  const history = (pipeline: string, options: HistoryOptions = {}) =>
    sql<RunRow>`SELECT DISTINCT ON (partition_day, time_zone) ${columns}
      FROM etl_run
      WHERE pipeline = ${pipeline}
      ${options.from === undefined ? sql`` : sql`AND partition_day >= ${options.from}::date`}
      ${options.to === undefined ? sql`` : sql`AND partition_day <= ${options.to}::date`}
      ORDER BY partition_day, time_zone, attempt DESC`.pipe(
      Effect.map((rows) => rows.map(toRun)),
      Effect.mapError(failed(`history of ${pipeline}`))
    )

  const runs = (pipeline: string, partition: Partition.Partition) =>
    sql<RunRow>`SELECT ${columns}
      FROM etl_run
      WHERE pipeline = ${pipeline} AND partition_day = ${partition.day}::date AND time_zone = ${partition.timeZone}
      ORDER BY attempt`.pipe(
      Effect.map((rows) => rows.map(toRun)),
      Effect.mapError(failed(`runs of ${pipeline} ${Partition.format(partition)}`))
    )

  return RunLedger.of({ start, finish, fail, history, runs })
})

/** The ledger over the `SqlClient` in context, migrations applied first. */
export const layerFromClient: Layer.Layer<RunLedger, RunLedgerError, SqlClient.SqlClient> = Layer.effect(
  RunLedger,
  Migrations.migrate.pipe(Effect.mapError(failed("migrate")), Effect.andThen(make))
)

/**
 * Runs one partition with `Pipeline.runReporting` and records it: `running` before, then the
 * report's outcome; an interrupted run is recorded as failed. Returns the report.
 */
export const record = (
  partition: Partition.Partition,
  options: Pipeline.PipelineOptions = {}
): Effect.Effect<RunReport.RunReport, RunLedgerError, RunLedger | Source.Source | Sink.Sink> =>
  Effect.gen(function* () {
    const ledger = yield* RunLedger
    const runId = yield* ledger.start(options.name ?? Pipeline.defaultName, partition)
    const report = yield* Pipeline.runReporting(partition, options).pipe(
      Effect.onInterrupt(() => Effect.ignore(ledger.fail(runId, "interrupted")))
    )
    yield* ledger.finish(runId, report)
    return report
  })
