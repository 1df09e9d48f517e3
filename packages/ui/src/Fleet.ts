/**
 * What the UI reads from a target database, read-only: the run ledger (`etl_run`) and quality
 * findings through the core's `Partitions.states` over the Postgres `RunLedger`, and the 10-minute
 * series straight from `data`, `signal` and `asset`, a turbine's signal one primary-key range.
 */
import { type Asset, Ledger, Partition, Partitions, Runner } from "@delfos/etl"
import { RunLedger } from "@delfos/etl-sink-postgres"
import { Connection } from "@delfos/postgres"
import { PgTypes } from "@effect/sql-pg"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as SqlClient from "effect/sql/SqlClient"
import type * as Api from "./Api.ts"

/** The database could not answer: why, in one line. */
export const unavailable = (what: string) => (error: unknown) => `${what}: ${Connection.reasonOf(error)}`

/** `''` (the default series) shows as `default`. */
export const label = (asset: string): string => (asset === "" ? "default" : asset)

const turbine = (asset: string): Api.Turbine => ({ asset, label: label(asset) })

/** The default series first, then turbines by name, numbers in names read as numbers (WTG2 before WTG10). */
export const compareAssets = (a: string, b: string): number =>
  a === b ? 0 : a === "" ? -1 : b === "" ? 1 : a.localeCompare(b, "en", { numeric: true })

export interface Overview {
  readonly pipelines: ReadonlyArray<string>
  /** The pipeline asked for, else the most recent one (`default` in an empty ledger). */
  readonly pipeline: string
  readonly timeZone: string
  readonly firstDay: string | null
  readonly lastDay: string | null
}

export interface GridOptions {
  readonly pipeline: string
  readonly from: Partition.Day
  readonly to: Partition.Day
  readonly timeZone: Partition.TimeZone
  /** Only these (`''` the default series); every turbine of the pipeline when absent. */
  readonly assets?: ReadonlyArray<string> | undefined
}

export interface SeriesOptions {
  readonly asset: string
  readonly variable: string
  /** `[start, end)`, epoch ms. */
  readonly start: number
  readonly end: number
}

export interface SeriesColumns {
  readonly timestamps: Array<number>
  readonly mean: Array<number | null>
  readonly min: Array<number | null>
  readonly max: Array<number | null>
  readonly std: Array<number | null>
}

const statistics = ["mean", "min", "max", "std"] as const

const textArray = (values: ReadonlyArray<string>) => Result.getOrThrow(PgTypes.array(values, PgTypes.OID.text))
const intArray = (values: ReadonlyArray<number>) => Result.getOrThrow(PgTypes.array(values, PgTypes.OID.int4))

export class Fleet extends Context.Service<
  Fleet,
  {
    /** Whether the target has the ledger's tables at all (a fresh database has none: nothing to show). */
    readonly ready: Effect.Effect<boolean, string>
    /** The pipelines in the ledger (most recent first), a pipeline's time zone and days. */
    readonly overview: (pipeline: string | undefined) => Effect.Effect<Overview, string>
    /** The pipeline's turbines: those in its ledger, else those with signals; `''` for the default series. */
    readonly turbines: (pipeline: string) => Effect.Effect<ReadonlyArray<Api.Turbine>, string>
    /** Variables that have a `_mean` signal. */
    readonly variables: Effect.Effect<ReadonlyArray<string>, string>
    /** Turbines × days, each cell the partition's state. */
    readonly grid: (options: GridOptions) => Effect.Effect<Omit<Api.Grid, "timeZone">, string>
    /** A partition's runs and latest quality findings. */
    readonly partition: (
      pipeline: string,
      partition: Partition.Partition
    ) => Effect.Effect<Omit<Api.PartitionDetail, "pipeline">, string>
    /** A turbine's signal as columns, window by window. */
    readonly series: (options: SeriesOptions) => Effect.Effect<SeriesColumns, string>
  }
>()("@delfos/ui/Fleet") {}

/** The fleet's reads over the `SqlClient` in context; `staleAfter` (ms) as the CLI judges abandoned runs. */
export const make = (options: { readonly staleAfter?: number | undefined } = {}) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ledger = yield* RunLedger.make
    const runner = Runner.make({ id: "delfos-etl ui", staleAfter: options.staleAfter ?? Runner.defaultStaleAfter })
    const withLedger = <A, E>(effect: Effect.Effect<A, E, Ledger.Ledger>) =>
      effect.pipe(Effect.provideService(Ledger.Ledger, ledger), Effect.provideService(Runner.Runner, runner))

    const ready = sql<{ ready: boolean }>`SELECT to_regclass('etl_run') IS NOT NULL
        AND to_regclass('quality') IS NOT NULL AND to_regclass('asset') IS NOT NULL AS ready`.pipe(
      Effect.map((rows) => rows[0]?.ready === true),
      Effect.mapError(unavailable("the target database"))
    )

    const overview = (pipeline: string | undefined) =>
      Effect.gen(function* () {
        if (!(yield* ready)) {
          return { pipelines: [], pipeline: pipeline ?? "default", timeZone: "UTC", firstDay: null, lastDay: null }
        }
        const pipelines = (yield* sql<{ pipeline: string }>`SELECT pipeline FROM etl_run
          GROUP BY pipeline ORDER BY max(started_at) DESC, pipeline`).map((row) => row.pipeline)
        const chosen = pipeline ?? pipelines[0] ?? "default"
        const [latest] = yield* sql<{ time_zone: string }>`SELECT time_zone FROM etl_run
          WHERE pipeline = ${chosen} ORDER BY started_at DESC LIMIT 1`
        const [span] = yield* sql<{ first: string | null; last: string | null }>`SELECT
          min(partition_day)::text AS first, max(partition_day)::text AS last FROM etl_run WHERE pipeline = ${chosen}`
        return {
          pipelines,
          pipeline: chosen,
          timeZone: latest?.time_zone ?? "UTC",
          firstDay: span?.first ?? null,
          lastDay: span?.last ?? null
        }
      }).pipe(Effect.mapError(unavailable("the run ledger")))

    const turbines = (pipeline: string) =>
      Effect.gen(function* () {
        if (!(yield* ready)) return []
        const inLedger = yield* sql<{ asset: string }>`SELECT DISTINCT asset FROM etl_run WHERE pipeline = ${pipeline}`
        const assets =
          inLedger.length > 0
            ? inLedger.map((row) => row.asset)
            : (yield* sql<{ asset: string }>`SELECT DISTINCT coalesce(a.name, '') AS asset
                FROM signal AS s LEFT JOIN asset AS a ON a.id = s.asset_id`).map((row) => row.asset)
        return assets.sort(compareAssets).map(turbine)
      }).pipe(Effect.mapError(unavailable("the turbines")))

    const variables = sql<{ variable: string }>`SELECT DISTINCT left(name, -5) AS variable FROM signal
      WHERE name LIKE '%\\_mean' ORDER BY 1`.pipe(
      Effect.map((rows) => rows.map((row) => row.variable)),
      // No `signal` table yet: no variables.
      Effect.orElseSucceed((): ReadonlyArray<string> => [])
    )

    const grid = (options: GridOptions) =>
      Effect.gen(function* () {
        const all = (yield* turbines(options.pipeline)).map((entry) => entry.asset)
        const assets = options.assets === undefined ? all : [...new Set(options.assets)].sort(compareAssets)
        const days = Partition.days(options.from, options.to)
        const partitions = assets.flatMap((asset) =>
          days.map(
            (day): Partition.Partition => ({
              day,
              timeZone: options.timeZone,
              ...(asset === "" ? {} : { asset: asset as Asset.AssetId })
            })
          )
        )
        const states = (yield* ready)
          ? yield* withLedger(Partitions.states(options.pipeline, partitions)).pipe(
              Effect.mapError(unavailable("the run ledger"))
            )
          : partitions.map((partition) => ({ ...partition, status: "missing" as const }))
        const cells = states.map(
          (state): Api.Cell => ({
            day: state.day,
            asset: state.asset ?? "",
            state: state.status,
            quality: "quality" in state ? state.quality : null,
            attempts: "attempts" in state ? state.attempts : 0,
            error: "lastError" in state ? state.lastError : null,
            rowsWritten: "rowsWritten" in state ? state.rowsWritten : null,
            durationMs: "durationMs" in state ? state.durationMs : null,
            startedAt: "startedAt" in state ? state.startedAt : null
          })
        )
        const counts: Record<string, number> = Object.fromEntries(Partitions.statuses.map((status) => [status, 0]))
        for (const cell of cells) counts[cell.state] = (counts[cell.state] ?? 0) + 1
        return {
          pipeline: options.pipeline,
          from: options.from,
          to: options.to,
          days,
          turbines: assets.map(turbine),
          cells,
          counts
        }
      })

    const partition = (pipeline: string, partition: Partition.Partition) =>
      Effect.gen(function* () {
        const asset = partition.asset ?? ""
        if (!(yield* ready)) {
          return {
            day: partition.day,
            timeZone: partition.timeZone,
            asset,
            label: label(asset),
            state: "missing" as const,
            runs: [],
            quality: [],
            qualityRunId: null
          }
        }
        const [state] = yield* withLedger(Partitions.states(pipeline, [partition]))
        const runs = yield* ledger.runs(pipeline, partition)
        const now = yield* Clock.currentTimeMillis
        const found = (yield* ledger.quality(pipeline, {
          from: partition.day,
          to: partition.day,
          assets: [asset as Asset.AssetId]
        })).find((entry) => Partition.key(entry) === Partition.key(partition))
        return {
          day: partition.day,
          timeZone: partition.timeZone,
          asset,
          label: label(asset),
          state: state?.status ?? "missing",
          runs: runs.map((run): Api.Run => {
            // A `running` run whose process stopped beating is failed, as status and backfills judge it.
            const abandoned = Ledger.isAbandoned(run, now, runner.staleAfter)
            return {
              id: run.id,
              attempt: run.attempt,
              status: abandoned ? "failed" : run.status,
              startedAt: run.startedAt,
              finishedAt: run.finishedAt,
              heartbeatAt: run.heartbeatAt,
              durationMs: run.finishedAt === null ? null : Date.parse(run.finishedAt) - Date.parse(run.startedAt),
              samplesRead: run.samplesRead,
              rowsWritten: run.rowsWritten,
              rowsDeleted: run.rowsDeleted,
              error: abandoned
                ? `abandoned: ${run.runner ?? "its runner"} stopped without a result (no heartbeat since ${run.heartbeatAt})`
                : run.error,
              runner: run.runner
            }
          }),
          quality: (found?.findings ?? []).map((finding) => ({ ...finding })),
          qualityRunId: found?.runId ?? null
        }
      }).pipe(Effect.mapError(unavailable("the run ledger")))

    const series = (options: SeriesOptions) =>
      Effect.gen(function* () {
        const names = statistics.map((statistic) => `${options.variable}_${statistic}`)
        const signals = yield* sql<{ id: number; name: string }>`SELECT s.id, s.name
          FROM signal AS s LEFT JOIN asset AS a ON a.id = s.asset_id
          WHERE s.name = ANY(${textArray(names)})
            AND ${options.asset === "" ? sql`s.asset_id IS NULL` : sql`a.name = ${options.asset}`}`
        const empty: SeriesColumns = { timestamps: [], mean: [], min: [], max: [], std: [] }
        if (signals.length === 0) return empty
        // Signal by signal, each one primary-key range, as two JSON arrays: a turbine-year is 4 rows
        // of text that JSON.parse reads in milliseconds, instead of 210,240 rows to decode; epoch
        // milliseconds as integers (instants are whole milliseconds), which Postgres writes fastest.
        const rows = yield* sql<{ id: number; t: string; v: string }>`SELECT d.signal_id AS id,
            array_to_json(array_agg((date_part('epoch', d.timestamp) * 1000)::int8 ORDER BY d.timestamp))::text AS t,
            array_to_json(array_agg(d.value ORDER BY d.timestamp))::text AS v
          FROM data AS d
          WHERE d.signal_id = ANY(${intArray(signals.map((signal) => signal.id))})
            AND d.timestamp >= ${new Date(options.start)} AND d.timestamp < ${new Date(options.end)}
          GROUP BY d.signal_id`
        const byStatistic = statistics.map(() => ({ timestamps: [] as Array<number>, values: [] as Array<number> }))
        for (const row of rows) {
          const name = signals.find((signal) => signal.id === row.id)?.name
          const at = name === undefined ? -1 : names.indexOf(name)
          if (at >= 0) byStatistic[at] = { timestamps: JSON.parse(row.t), values: JSON.parse(row.v) }
        }
        return columns(byStatistic)
      }).pipe(Effect.mapError(unavailable("the series")))

    return Fleet.of({ ready, overview, turbines, variables, grid, partition, series })
  })

/** Merges sorted, distinct timestamps. */
const union = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): Array<number> => {
  const out: Array<number> = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    const x = a[i]
    const y = b[j]
    if (y === undefined || (x !== undefined && x < y)) out.push(a[i++]!)
    else if (x === undefined || y < x) out.push(b[j++]!)
    else {
      out.push(a[i++]!)
      j++
    }
  }
  return out
}

/**
 * Each statistic's (timestamps, values), each in time order, as columns over all their windows:
 * `null` where a statistic has no row (a window of one sample has no `std`).
 */
export const columns = (
  byStatistic: ReadonlyArray<{ readonly timestamps: ReadonlyArray<number>; readonly values: ReadonlyArray<number> }>
): SeriesColumns => {
  const timestamps = byStatistic.reduce<Array<number>>(
    (all, entry) =>
      entry.timestamps.length === all.length && entry.timestamps.every((t, i) => t === all[i])
        ? all
        : union(all, entry.timestamps),
    []
  )
  const [mean, min, max, std] = byStatistic.map((entry) => {
    const column = new Array<number | null>(timestamps.length).fill(null)
    // Both in time order: one walk.
    let j = 0
    entry.timestamps.forEach((t, i) => {
      while (timestamps[j]! < t) j++
      column[j] = entry.values[i]!
    })
    return column
  })
  return { timestamps, mean: mean!, min: min!, max: max!, std: std! }
}

/** The fleet's reads over the `SqlClient` in context. */
export const layer = (options: { readonly staleAfter?: number | undefined } = {}) => Layer.effect(Fleet, make(options))
