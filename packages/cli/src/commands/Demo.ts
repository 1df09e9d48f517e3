/**
 * `delfos-etl demo`: the whole job with nothing installed. An embedded fonte (PGlite, a free
 * port), seeded with a few days; the ETL of each day over HTTP into an embedded target; then a
 * summary with a preview of the 10-minute series, and the commands for real Postgres.
 */
import { hostname } from "node:os"
import { type Asset, Partition, Pipeline, Runner, type RunReport } from "@delfos/etl"
import { PostgresSink, RunLedger } from "@delfos/etl-sink-postgres"
import { HttpSource } from "@delfos/etl-source-http"
import { FonteClient, Generator, Server } from "@delfos/fonte"
import { EmbeddedPostgres } from "@delfos/postgres"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as SqlClient from "effect/sql/SqlClient"
import { execute } from "../Execute.ts"
import * as ExitCode from "../ExitCode.ts"
import { number } from "../Format.ts"
import * as Progress from "../Progress.ts"
import * as Settings from "../Settings.ts"

export class DemoFailed extends Schema.TaggedError<DemoFailed>()("DemoFailed", { message: Schema.String }) {}

const out = (text: string) => Effect.sync(() => process.stdout.write(text))

const blocks = "▁▂▃▄▅▆▇█"

/** A one-line chart of a series, averaged down to `width` cells. */
export const sparkline = (values: ReadonlyArray<number>, width = 72): string => {
  if (values.length === 0) return ""
  const cells = Math.min(width, values.length)
  const averaged = Array.from({ length: cells }, (_, c) => {
    const from = Math.floor((c * values.length) / cells)
    const to = Math.max(from + 1, Math.floor(((c + 1) * values.length) / cells))
    const slice = values.slice(from, to)
    return slice.reduce((a, b) => a + b, 0) / slice.length
  })
  const low = Math.min(...averaged)
  const high = Math.max(...averaged)
  return averaged
    .map((value) => blocks[high === low ? 3 : Math.round(((value - low) / (high - low)) * (blocks.length - 1))])
    .join("")
}

/** The target: an in-memory embedded database with the sink and the ledger, its SqlClient exposed. */
const target = Layer.mergeAll(PostgresSink.layerFromClient(), RunLedger.layerFromClient).pipe(
  Layer.provideMerge(EmbeddedPostgres.layerClient())
)

export interface DemoOptions {
  readonly days: number
  readonly startDate: string
  /** A farm of this many turbines (WTG01…), run in batches with quality checks; none: the reference's one series. */
  readonly turbines?: number | undefined
  /** Then serve the web UI over the demo's database until interrupted. */
  readonly ui?: boolean | undefined
}

/**
 * The demo's quality policy for a farm: a turbine-day under 90% coverage is loaded but flagged
 * `degraded` (the seeded downtime of a few hours falls under it).
 */
const demoQuality = { minCoverage: 0.9 }

/** One line per day of a farm run: `2024-01-01  10 turbines: 9 succeeded, 1 degraded · 11,520 rows · 0.41s`. */
const dayLine = (day: string, reports: ReadonlyArray<RunReport.RunReport>): string => {
  const rows = reports.reduce((total, report) => total + report.rowsWritten, 0)
  const slowest = Math.max(...reports.map((report) => report.durationMs))
  return `${day}  ${reports.length} turbines: ${Progress.counts(reports)} · ${number(rows)} rows · ${(slowest / 1000).toFixed(2)}s`
}

export const demo = (options: DemoOptions): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    const farm = options.turbines
    yield* out(
      farm === undefined
        ? "delfos-etl demo: the reference job end to end, nothing to install\n\n"
        : `delfos-etl demo: a farm of ${farm} turbines end to end, nothing to install\n\n`
    )
    const started = Date.now()
    const fonte = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => Server.createFonteServer({ port: 0 }),
        catch: (error) => new DemoFailed({ message: `the fonte server did not start: ${String(error)}` })
      }),
      (server) => Effect.promise(() => server.close())
    )
    yield* out(`1. fonte server (embedded PGlite) on ${fonte.url}\n`)
    const seeded = yield* FonteClient.populate(fonte.url, {
      startDate: options.startDate,
      days: options.days,
      ...(farm === undefined ? {} : { turbines: farm })
    }).pipe(
      Effect.provide(FetchHttpClient.layer),
      Effect.mapError((error) => new DemoFailed({ message: `seeding failed: ${error.message}` }))
    )
    const fleet =
      farm === undefined ? undefined : Generator.turbines(farm).map((turbine) => turbine.turbineId as Asset.AssetId)
    yield* out(
      `2. seeded ${number(seeded.details.total_records)} one-minute samples from ${options.startDate}, ${options.days} days` +
        `${fleet === undefined ? "" : `, turbines ${fleet[0]} to ${fleet.at(-1)} (a few with faults: a stuck anemometer, curtailment, downtime)`}\n`
    )
    yield* out(
      fleet === undefined
        ? `3. ETL of each day (fonte API -> 10-minute mean/min/max/std -> embedded target):\n`
        : `3. ETL of each day, the turbines in batches (fonte API -> 10-minute statistics + quality checks -> embedded target):\n`
    )
    const days = yield* Partition.parseRange(
      options.startDate,
      Partition.addDays(Partition.Day.make(options.startDate), options.days - 1)
    )
    const reports: Array<RunReport.RunReport> = []
    const source = HttpSource.layer({ baseUrl: `${fonte.url}/api/v1` })
    const pipeline = { name: "demo", ...(fleet === undefined ? {} : { quality: demoQuality }) }
    for (const day of days) {
      const dayReports: Array<RunReport.RunReport> = []
      for (const batch of Pipeline.batches(Partition.forAssets([day], fleet))) {
        dayReports.push(...(yield* Pipeline.runBatchRecorded(batch, pipeline).pipe(Effect.provide(source))))
      }
      reports.push(...dayReports)
      if (fleet === undefined) {
        yield* out(`   ${Progress.reportLine(dayReports[0]!)}\n`)
      } else {
        yield* out(`   ${dayLine(day.day, dayReports)}\n`)
        for (const report of dayReports) {
          if (report.status !== "succeeded" || (report.quality ?? []).some((finding) => finding.severity !== "ok")) {
            yield* out(`     ${Progress.reportLine(report)}\n`)
          }
        }
      }
    }
    const sql = yield* SqlClient.SqlClient
    const first = Partition.range(days[0]!)
    // The default series, or the farm's first turbine.
    const asset = fleet?.[0] ?? null
    const series = yield* sql<{ name: string; value: number }>`
      SELECT s.name, d.value FROM data d JOIN signal s ON s.id = d.signal_id LEFT JOIN asset a ON a.id = s.asset_id
      WHERE s.name IN ('wind_speed_mean', 'power_mean') AND a.name IS NOT DISTINCT FROM ${asset}
        AND d.timestamp >= to_timestamp(${first.start} / 1000.0) AND d.timestamp < to_timestamp(${first.end} / 1000.0)
      ORDER BY s.name, d.timestamp`
    const sample = yield* sql<{ timestamp: Date; name: string; value: number }>`
      SELECT d.timestamp, s.name, d.value FROM data d JOIN signal s ON s.id = d.signal_id LEFT JOIN asset a ON a.id = s.asset_id
      WHERE d.timestamp = to_timestamp(${first.start + 12 * 3_600_000} / 1000.0) AND a.name IS NOT DISTINCT FROM ${asset}
      ORDER BY s.name`
    const totals = yield* sql<{ rows: number; signals: number }>`
      SELECT count(*)::int AS rows, count(DISTINCT signal_id)::int AS signals FROM data`
    const values = (name: string) => series.filter((row) => row.name === name).map((row) => row.value)
    const wind = values("wind_speed_mean")
    const power = values("power_mean")

    yield* out(`\nSummary\n`)
    const table = [
      ["day", ...(fleet === undefined ? [] : ["turbines", "flagged"]), "samples", "windows", "rows", "time"],
      ...days.map((day) => {
        const ofDay = reports.filter((report) => report.day === day.day)
        const sum = (field: "samplesRead" | "windows" | "rowsWritten") =>
          number(ofDay.reduce((total, report) => total + report[field], 0))
        const flagged = ofDay.filter(
          (report) =>
            report.status !== "succeeded" || (report.quality ?? []).some((finding) => finding.severity !== "ok")
        ).length
        return [
          day.day,
          ...(fleet === undefined ? [] : [String(ofDay.length), String(flagged)]),
          sum("samplesRead"),
          sum("windows"),
          sum("rowsWritten"),
          `${(Math.max(...ofDay.map((report) => report.durationMs)) / 1000).toFixed(2)}s`
        ]
      })
    ]
    const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)))
    for (const row of table)
      yield* out(
        `   ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")}\n`
      )
    yield* out(`   target: ${number(totals[0]?.rows ?? 0)} rows in ${totals[0]?.signals ?? 0} signals\n`)
    const found = Progress.qualitySummary(reports)
    if (found !== "") yield* out(`   ${found}\n`)
    yield* out(`\n${options.startDate}${asset === null ? "" : ` ${asset}`}, 10-minute means, 00:00 to 24:00\n`)
    yield* out(
      `   wind_speed_mean  ${sparkline(wind)}  ${Math.min(...wind).toFixed(1)} to ${Math.max(...wind).toFixed(1)} m/s\n`
    )
    yield* out(
      `   power_mean       ${sparkline(power)}  ${number(Math.round(Math.min(...power)))} to ${number(Math.round(Math.max(...power)))} kW\n`
    )
    yield* out(
      `\nThe rows of the 12:00 window${asset === null ? "" : ` of ${asset}`} (table data joined to signal${asset === null ? "" : " and asset"}):\n`
    )
    for (const row of sample) {
      yield* out(`   ${row.timestamp.toISOString()}  ${row.name.padEnd(16)}  ${row.value.toFixed(3).padStart(10)}\n`)
    }
    const failed = reports.filter((report) => report.status === "failed").length
    const noun = fleet === undefined ? "day(s)" : "turbine-day(s)"
    const turbinesFlag = farm === undefined ? "" : ` --turbines ${farm}`
    yield* out(
      `\nDone in ${((Date.now() - started) / 1000).toFixed(1)}s${failed > 0 ? `, ${failed} ${noun} FAILED` : ""}.\n\n` +
        "The same against real Postgres:\n" +
        "   createdb fonte && createdb alvo\n" +
        "   npx delfos-etl fonte serve --port 8000 --database-url postgres://localhost/fonte &\n" +
        `   npx delfos-etl fonte seed --start-date ${options.startDate} --days ${options.days}${turbinesFlag}\n` +
        `   DATABASE_URL=postgres://localhost/alvo npx delfos-etl run --from ${options.startDate} --to ${days[days.length - 1]!.day}` +
        `${farm === undefined ? "" : " --turbines all --min-coverage 0.9"}\n` +
        (farm === undefined
          ? '   psql postgres://localhost/alvo -c "SELECT d.timestamp, s.name, d.value FROM data d JOIN signal s ON s.id = d.signal_id ORDER BY 1, 2 LIMIT 8"\n'
          : "   DATABASE_URL=postgres://localhost/alvo npx delfos-etl status --turbine WTG03\n")
    )
    if (options.ui === true) {
      const { Ui } = yield* Effect.promise(() => import("@delfos/ui"))
      // Over the demo's own embedded target (its SqlClient is in context); serves until interrupted.
      yield* Ui.serve(
        { sourceUrl: `${fonte.url}/api/v1`, pipeline: "demo", database: "the demo's embedded database (in memory)" },
        ({ url }) => out(`The UI: ${url}  (read-only; Ctrl-C stops it)\n`)
      )
    }
    return failed > 0 ? ExitCode.failed : ExitCode.success
  }).pipe(
    Effect.scoped,
    Effect.provide(target),
    Effect.provideService(Runner.Runner, Runner.make({ id: `${hostname()}:${process.pid}` }))
  )

export interface DemoFlags {
  readonly days?: string | undefined
  readonly startDate?: string | undefined
  readonly turbines?: string | undefined
  readonly ui?: boolean | undefined
  readonly verbose?: boolean | undefined
}

export const run = (flags: DemoFlags): Promise<number> =>
  execute(
    Effect.gen(function* () {
      const days = yield* Settings.integer("--days", flags.days, 3, 1, 31)
      const startDate = flags.startDate ?? "2024-01-01"
      yield* Settings.partitions({ date: startDate }, "UTC" as never)
      // The UI is made for a farm: `demo --ui` seeds 10 turbines unless told otherwise.
      const turbines =
        flags.turbines === undefined
          ? flags.ui === true
            ? 10
            : undefined
          : yield* Settings.integer("--turbines", flags.turbines, 1, 1, 100)
      return yield* demo({ days, startDate, turbines, ui: flags.ui === true })
    }),
    { verbose: flags.verbose === true, interrupted: flags.ui === true ? "success" : "failure" }
  )
