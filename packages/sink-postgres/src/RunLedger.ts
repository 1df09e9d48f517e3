/**
 * The Postgres implementation of the core's `Ledger`: one `etl_run` row per attempt at a partition
 * (running with a heartbeat, then succeeded, empty or failed, with what it read and wrote), so the
 * CLI and an orchestrator can tell which days are done, which failed and how often each was tried.
 */
import { type Asset, Ledger, Partition, type Quality } from "@delfos/etl"
import { Connection } from "@delfos/postgres"
import { PgTypes } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import type * as SqlClient from "effect/sql/SqlClient"
import * as SqlClientService from "effect/sql/SqlClient"
import * as SqlError from "effect/sql/SqlError"
import * as Migrations from "./Migrations.ts"

interface RunRow {
  readonly id: number
  readonly pipeline: string
  readonly day: string
  readonly time_zone: string
  readonly asset: string
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
  ...(row.asset === "" ? {} : { asset: row.asset as Asset.AssetId }),
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

// The default series (no asset) is '' in `etl_run.asset`, so the partition's key has no NULLs.
const assetColumn = (partition: Partition.PartitionLike): string => partition.asset ?? ""

// Two starts of one partition at once may read the same latest attempt; the unique index turns the
// slower one's insert into a unique violation, and it counts again.
const isAttemptTaken = (error: SqlError.SqlError) => error.reason._tag === "UniqueViolation"

const failed = (operation: string) => (error: unknown) =>
  new Ledger.LedgerError({ operation, reason: Connection.reasonOf(error) })

const array = (values: ReadonlyArray<unknown>, oid: number) => Result.getOrThrow(PgTypes.array(values, oid))

const described = (partitions: ReadonlyArray<Partition.Partition>) =>
  partitions.length === 1 ? Partition.format(partitions[0]!) : `${partitions.length} partitions`

/** The ledger over the `SqlClient` in context; it expects the migrations to have run. */
export const make: Effect.Effect<Ledger.Ledger["Service"], never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClientService.SqlClient
  const columns = sql`id, pipeline, partition_day::text AS day, time_zone, asset, status, attempt, samples_read,
    rows_written, rows_deleted, started_at, finished_at, heartbeat_at, error, runner`

  // One statement for any number of partitions: each row numbered after its partition's latest attempt.
  const start = (pipeline: string, partitions: ReadonlyArray<Partition.Partition>, runner: string) =>
    Effect.gen(function* () {
      if (partitions.length === 0) return []
      const rows = yield* sql<{
        id: number
        key: string
      }>`INSERT INTO etl_run (pipeline, partition_day, time_zone, asset, status, attempt, runner)
        SELECT ${pipeline}, p.day::date, p.zone, p.asset, 'running',
          coalesce((SELECT max(r.attempt) FROM etl_run AS r
            WHERE r.pipeline = ${pipeline} AND r.partition_day = p.day::date AND r.time_zone = p.zone AND r.asset = p.asset), 0) + 1,
          ${runner}
        FROM unnest(${array(
          partitions.map((partition) => partition.day),
          PgTypes.OID.text
        )}, ${array(
          partitions.map((partition) => partition.timeZone),
          PgTypes.OID.text
        )}, ${array(partitions.map(assetColumn), PgTypes.OID.text)}) WITH ORDINALITY AS p(day, zone, asset, n)
        ORDER BY p.n
        RETURNING id, time_zone || '|' || partition_day::text || '|' || asset AS key`
      const ids = new Map(rows.map((row) => [row.key, row.id]))
      return partitions.map((partition) => ids.get(Partition.key(partition))!)
    }).pipe(
      Effect.retry({ times: 10, while: isAttemptTaken }),
      Effect.mapError(failed(`start ${pipeline} ${described(partitions)}`))
    )

  // Fails when a run is not in the ledger: an update that touched fewer rows than asked.
  const updated = (
    operation: string,
    runIds: ReadonlyArray<number>,
    update: Effect.Effect<ReadonlyArray<{ id: number }>, SqlError.SqlError>
  ) =>
    update.pipe(
      Effect.mapError(failed(`${operation} run ${runIds.join(", ")}`)),
      // A connection lost inside `finish`'s transaction fails the rollback too, which the SQL client
      // reports as a defect; the server rolled back all the same: a failure, retried like the others.
      Effect.catchDefect((defect) =>
        SqlError.isSqlError(defect)
          ? Effect.fail(failed(`${operation} run ${runIds.join(", ")}`)(defect))
          : Effect.die(defect)
      ),
      Effect.flatMap((rows) => {
        if (rows.length === new Set(runIds).size) return Effect.void
        const found = new Set(rows.map((row) => row.id))
        const missing = runIds.filter((id) => !found.has(id))
        return Effect.fail(
          new Ledger.LedgerError({ operation: `${operation} run ${missing.join(", ")}`, reason: "no such run" })
        )
      })
    )

  const ids = (runIds: ReadonlyArray<number>) => array(runIds, PgTypes.OID.int4)

  // The findings of runs that checked their partition replace that partition's findings.
  const replaceQuality = (runs: ReadonlyArray<Ledger.Finished>) => {
    const checked = runs.filter((run) => run.report.quality !== undefined)
    if (checked.length === 0) return Effect.void
    const rows = checked.flatMap(({ report, runId }) =>
      report.quality!.map((finding, position) => ({ report, runId, finding, position }))
    )
    const column = <A>(values: ReadonlyArray<A>, oid: number) => array(values, oid)
    return Effect.gen(function* () {
      yield* sql`DELETE FROM quality AS q
        USING unnest(
          ${column(
            checked.map(({ report }) => report.pipeline),
            PgTypes.OID.text
          )},
          ${column(
            checked.map(({ report }) => report.day),
            PgTypes.OID.text
          )},
          ${column(
            checked.map(({ report }) => report.timeZone),
            PgTypes.OID.text
          )},
          ${column(
            checked.map(({ report }) => assetColumn(report)),
            PgTypes.OID.text
          )}
        ) AS p(pipeline, day, zone, asset)
        WHERE q.pipeline = p.pipeline AND q.partition_day = p.day::date AND q.time_zone = p.zone AND q.asset = p.asset`
      if (rows.length === 0) return
      yield* sql`INSERT INTO quality (pipeline, partition_day, time_zone, asset, variable, check_name, value, severity, reason, position, run_id)
        SELECT pipeline, day::date, zone, asset, variable, check_name, value, severity, reason, position, run_id
        FROM unnest(
          ${column(
            rows.map(({ report }) => report.pipeline),
            PgTypes.OID.text
          )},
          ${column(
            rows.map(({ report }) => report.day),
            PgTypes.OID.text
          )},
          ${column(
            rows.map(({ report }) => report.timeZone),
            PgTypes.OID.text
          )},
          ${column(
            rows.map(({ report }) => assetColumn(report)),
            PgTypes.OID.text
          )},
          ${column(
            rows.map(({ finding }) => finding.variable),
            PgTypes.OID.text
          )},
          ${column(
            rows.map(({ finding }) => finding.check),
            PgTypes.OID.text
          )},
          ${column(
            rows.map(({ finding }) => finding.value),
            PgTypes.OID.float8
          )},
          ${column(
            rows.map(({ finding }) => finding.severity),
            PgTypes.OID.text
          )},
          ${column(
            rows.map(({ finding }) => finding.reason),
            PgTypes.OID.text
          )},
          ${column(
            rows.map(({ position }) => position),
            PgTypes.OID.int4
          )},
          ${column(
            rows.map(({ runId }) => runId),
            PgTypes.OID.int4
          )}
        ) AS u(pipeline, day, zone, asset, variable, check_name, value, severity, reason, position, run_id)`
    })
  }

  const finish = (runs: ReadonlyArray<Ledger.Finished>) =>
    runs.length === 0
      ? Effect.void
      : updated(
          "finish",
          runs.map((run) => run.runId),
          sql<{ id: number }>`UPDATE etl_run SET
            status = u.status,
            samples_read = u.samples_read,
            rows_written = u.rows_written,
            rows_deleted = u.rows_deleted,
            finished_at = now(),
            heartbeat_at = now(),
            error = u.error
          FROM unnest(
            ${ids(runs.map((run) => run.runId))},
            ${array(
              runs.map((run) => run.report.status),
              PgTypes.OID.text
            )},
            ${array(
              runs.map((run) => run.report.samplesRead),
              PgTypes.OID.int4
            )},
            ${array(
              runs.map((run) => run.report.rowsWritten),
              PgTypes.OID.int4
            )},
            ${array(
              runs.map((run) => run.report.rowsDeleted),
              PgTypes.OID.int4
            )},
            ${array(
              runs.map(({ report }) =>
                report.error === undefined ? null : `${report.error.tag}: ${report.error.message}`
              ),
              PgTypes.OID.text
            )}
          ) AS u(id, status, samples_read, rows_written, rows_deleted, error)
          WHERE etl_run.id = u.id
          RETURNING etl_run.id`.pipe(
            Effect.tap(() => replaceQuality(runs)),
            sql.withTransaction
          )
        )

  const fail = (runIds: ReadonlyArray<number>, error: string) =>
    runIds.length === 0
      ? Effect.void
      : updated(
          "fail",
          runIds,
          sql<{
            id: number
          }>`UPDATE etl_run SET status = 'failed', finished_at = now(), heartbeat_at = now(), error = ${error}
          WHERE id = ANY(${ids(runIds)})
          RETURNING id`
        )

  // Only a run still `running`: a late beat must not touch a finished row. One that finished is
  // no error (the beat lost a race with the end), one that does not exist is.
  const heartbeat = (runIds: ReadonlyArray<number>) =>
    runIds.length === 0
      ? Effect.void
      : updated(
          "heartbeat",
          runIds,
          sql<{
            id: number
          }>`UPDATE etl_run SET heartbeat_at = CASE WHEN status = 'running' THEN now() ELSE heartbeat_at END
          WHERE id = ANY(${ids(runIds)})
          RETURNING id`
        )

  const history = (pipeline: string, options: Ledger.HistoryOptions = {}) =>
    sql<RunRow>`SELECT DISTINCT ON (partition_day, time_zone, asset) ${columns}
      FROM etl_run
      WHERE pipeline = ${pipeline}
      ${options.from === undefined ? sql`` : sql`AND partition_day >= ${options.from}::date`}
      ${options.to === undefined ? sql`` : sql`AND partition_day <= ${options.to}::date`}
      ${options.assets === undefined ? sql`` : sql`AND asset = ANY(${array(options.assets, PgTypes.OID.text)})`}
      ORDER BY partition_day, time_zone, asset, attempt DESC`.pipe(
      Effect.map((rows) => rows.map(toRun).sort(Partition.compare)),
      Effect.mapError(failed(`history of ${pipeline}`))
    )

  const quality = (pipeline: string, options: Ledger.HistoryOptions = {}) =>
    sql<{
      day: string
      time_zone: string
      asset: string
      variable: string
      check_name: string
      value: number
      severity: Quality.Severity
      reason: string
      run_id: number
    }>`SELECT partition_day::text AS day, time_zone, asset, variable, check_name, value, severity, reason, run_id
      FROM quality
      WHERE pipeline = ${pipeline}
      ${options.from === undefined ? sql`` : sql`AND partition_day >= ${options.from}::date`}
      ${options.to === undefined ? sql`` : sql`AND partition_day <= ${options.to}::date`}
      ${options.assets === undefined ? sql`` : sql`AND asset = ANY(${array(options.assets, PgTypes.OID.text)})`}
      ORDER BY partition_day, time_zone, asset, position`.pipe(
      Effect.map((rows) => {
        const byPartition = new Map<string, { entry: Ledger.PartitionQuality; findings: Array<Quality.Finding> }>()
        for (const row of rows) {
          const partition = {
            day: row.day as Partition.Day,
            timeZone: row.time_zone as Partition.TimeZone,
            ...(row.asset === "" ? {} : { asset: row.asset as Asset.AssetId })
          }
          const key = Partition.key(partition)
          let group = byPartition.get(key)
          if (group === undefined) {
            const findings: Array<Quality.Finding> = []
            group = { entry: { ...partition, runId: row.run_id, findings }, findings }
            byPartition.set(key, group)
          }
          group.findings.push({
            check: row.check_name,
            variable: row.variable,
            value: row.value,
            severity: row.severity,
            reason: row.reason
          })
        }
        return [...byPartition.values()].map((group) => group.entry).sort(Partition.compare)
      }),
      Effect.mapError(failed(`quality of ${pipeline}`))
    )

  const runs = (pipeline: string, partition: Partition.Partition) =>
    sql<RunRow>`SELECT ${columns}
      FROM etl_run
      WHERE pipeline = ${pipeline} AND partition_day = ${partition.day}::date AND time_zone = ${partition.timeZone}
        AND asset = ${assetColumn(partition)}
      ORDER BY attempt`.pipe(
      Effect.map((rows) => rows.map(toRun)),
      Effect.mapError(failed(`runs of ${pipeline} ${Partition.format(partition)}`))
    )

  return Ledger.Ledger.of({ start, heartbeat, finish, fail, history, quality, runs })
})

/** The ledger over the `SqlClient` in context, migrations applied first. */
export const layerFromClient: Layer.Layer<Ledger.Ledger, Ledger.LedgerError, SqlClient.SqlClient> = Layer.effect(
  Ledger.Ledger,
  Migrations.migrate.pipe(Effect.mapError(failed("migrate")), Effect.andThen(make))
)
