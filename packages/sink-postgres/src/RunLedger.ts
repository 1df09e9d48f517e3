/**
 * The Postgres implementation of the core's `Ledger`: one `etl_run` row per attempt at a partition
 * (running with a heartbeat, then succeeded, empty or failed, with what it read and wrote), so the
 * CLI and an orchestrator can tell which days are done, which failed and how often each was tried.
 */
import { Ledger, Partition, type RunReport } from "@delfos/etl"
import { Connection } from "@delfos/postgres"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as SqlClient from "effect/sql/SqlClient"
import * as SqlClientService from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"
import * as Migrations from "./Migrations.ts"

interface RunRow {
  readonly id: number
  readonly pipeline: string
  readonly day: string
  readonly time_zone: string
  readonly status: Ledger.Status
  readonly attempt: number
  readonly samples_read: number | null
  readonly rows_written: number | null
  readonly rows_deleted: number | null
  readonly started_at: Date
  readonly finished_at: Date | null
  readonly heartbeat_at: Date
  readonly error: string | null
  readonly runner: string | null
}

const toRun = (row: RunRow): Ledger.Run => ({
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
  heartbeatAt: row.heartbeat_at.toISOString(),
  error: row.error,
  runner: row.runner
})

// Two starts of one partition at once may read the same latest attempt; the unique index turns the
// slower one's insert into a unique violation, and it counts again.
const isAttemptTaken = (error: SqlError.SqlError) => error.reason._tag === "UniqueViolation"

const failed = (operation: string) => (error: unknown) =>
  new Ledger.LedgerError({ operation, reason: Connection.reasonOf(error) })

/** The ledger over the `SqlClient` in context; it expects the migrations to have run. */
export const make: Effect.Effect<Ledger.Ledger["Service"], never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClientService.SqlClient
  const columns = sql`id, pipeline, partition_day::text AS day, time_zone, status, attempt, samples_read,
    rows_written, rows_deleted, started_at, finished_at, heartbeat_at, error, runner`

  const start = (pipeline: string, partition: Partition.Partition, runner: string) =>
    sql<{ id: number }>`INSERT INTO etl_run (pipeline, partition_day, time_zone, status, attempt, runner)
      SELECT ${pipeline}, ${partition.day}::date, ${partition.timeZone}, 'running', coalesce(max(attempt), 0) + 1, ${runner}
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
          : Effect.fail(new Ledger.LedgerError({ operation: `${operation} run ${runId}`, reason: "no such run" }))
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
        heartbeat_at = now(),
        error = ${report.error === undefined ? null : `${report.error.tag}: ${report.error.message}`}
      WHERE id = ${runId}
      RETURNING id`
    )

  const fail = (runId: number, error: string) =>
    end(
      "fail",
      runId,
      sql`UPDATE etl_run SET status = 'failed', finished_at = now(), heartbeat_at = now(), error = ${error}
      WHERE id = ${runId}
      RETURNING id`
    )

  // Only a run still `running`: a late beat must not touch a finished row. One that finished is
  // no error (the beat lost a race with the end), one that does not exist is.
  const heartbeat = (runId: number) =>
    end(
      "heartbeat",
      runId,
      sql`UPDATE etl_run SET heartbeat_at = CASE WHEN status = 'running' THEN now() ELSE heartbeat_at END
      WHERE id = ${runId}
      RETURNING id`
    )

  const history = (pipeline: string, options: Ledger.HistoryOptions = {}) =>
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

  return Ledger.Ledger.of({ start, heartbeat, finish, fail, history, runs })
})

/** The ledger over the `SqlClient` in context, migrations applied first. */
export const layerFromClient: Layer.Layer<Ledger.Ledger, Ledger.LedgerError, SqlClient.SqlClient> = Layer.effect(
  Ledger.Ledger,
  Migrations.migrate.pipe(Effect.mapError(failed("migrate")), Effect.andThen(make))
)
