/**
 * `delfos-etl demo`: the whole job with nothing installed. An embedded fonte (PGlite, a free
 * port), seeded with a few days; the ETL of each day over HTTP into an embedded target; then a
 * summary with a preview of the 10-minute series, and the commands for real Postgres.
 */
import { hostname } from "node:os"
import { Partition, Pipeline, Runner, type RunReport } from "@delfos/etl"
import { PostgresSink, RunLedger } from "@delfos/etl-sink-postgres"
import { HttpSource } from "@delfos/etl-source-http"
import { FonteClient, Server } from "@delfos/fonte"
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

export const demo = (options: { readonly days: number; readonly startDate: string }): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* out("delfos-etl demo: the reference job end to end, nothing to install\n\n")
    const started = Date.now()
    const fonte = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => Server.createFonteServer({ port: 0 }),
        catch: (error) => new DemoFailed({ message: `the fonte server did not start: ${String(error)}` })
      }),
      (server) => Effect.promise(() => server.close())
    )
    yield* out(`1. fonte server (embedded PGlite) on ${fonte.url}\n`)
    const seeded = yield* FonteClient.populate(fonte.url, { startDate: options.startDate, days: options.days }).pipe(
      Effect.provide(FetchHttpClient.layer),
      Effect.mapError((error) => new DemoFailed({ message: `seeding failed: ${error.message}` }))
    )
    yield* out(
      `2. seeded ${number(seeded.details.total_records)} one-minute samples from ${options.startDate}, ${options.days} days\n`
    )
    yield* out(`3. ETL of each day (fonte API -> 10-minute mean/min/max/std -> embedded target):\n`)
    const partitions = yield* Partition.parseRange(
      options.startDate,
      Partition.addDays(Partition.Day.make(options.startDate), options.days - 1)
    )
    const reports: Array<RunReport.RunReport> = []
    const source = HttpSource.layer({ baseUrl: `${fonte.url}/api/v1` })
    for (const partition of partitions) {
      const report = yield* Pipeline.runRecorded(partition, { name: "demo" }).pipe(Effect.provide(source))
      reports.push(report)
      yield* out(`   ${Progress.reportLine(report)}\n`)
    }
    const sql = yield* SqlClient.SqlClient
    const first = Partition.range(partitions[0]!)
    const series = yield* sql<{ name: string; value: number }>`
      SELECT s.name, d.value FROM data d JOIN signal s ON s.id = d.signal_id
      WHERE s.name IN ('wind_speed_mean', 'power_mean')
        AND d.timestamp >= to_timestamp(${first.start} / 1000.0) AND d.timestamp < to_timestamp(${first.end} / 1000.0)
      ORDER BY s.name, d.timestamp`
    const sample = yield* sql<{ timestamp: Date; name: string; value: number }>`
      SELECT d.timestamp, s.name, d.value FROM data d JOIN signal s ON s.id = d.signal_id
      WHERE d.timestamp = to_timestamp(${first.start + 12 * 3_600_000} / 1000.0) ORDER BY s.name`
    const totals = yield* sql<{ rows: number; signals: number }>`
      SELECT count(*)::int AS rows, count(DISTINCT signal_id)::int AS signals FROM data`
    const values = (name: string) => series.filter((row) => row.name === name).map((row) => row.value)
    const wind = values("wind_speed_mean")
    const power = values("power_mean")

    yield* out(`\nSummary\n`)
    const table = [
      ["day", "samples", "windows", "rows", "time"],
      ...reports.map((report) => [
        report.day,
        number(report.samplesRead),
        number(report.windows),
        number(report.rowsWritten),
        `${(report.durationMs / 1000).toFixed(2)}s`
      ])
    ]
    const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)))
    for (const row of table)
      yield* out(
        `   ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")}\n`
      )
    yield* out(`   target: ${number(totals[0]?.rows ?? 0)} rows in ${totals[0]?.signals ?? 0} signals\n`)
    yield* out(`\n${options.startDate}, 10-minute means, 00:00 to 24:00\n`)
    yield* out(
      `   wind_speed_mean  ${sparkline(wind)}  ${Math.min(...wind).toFixed(1)} to ${Math.max(...wind).toFixed(1)} m/s\n`
    )
    yield* out(
      `   power_mean       ${sparkline(power)}  ${number(Math.round(Math.min(...power)))} to ${number(Math.round(Math.max(...power)))} kW\n`
    )
    yield* out(`\nThe rows of the 12:00 window (table data joined to signal):\n`)
    for (const row of sample) {
      yield* out(`   ${row.timestamp.toISOString()}  ${row.name.padEnd(16)}  ${row.value.toFixed(3).padStart(10)}\n`)
    }
    const failed = reports.filter((report) => report.status === "failed").length
    yield* out(
      `\nDone in ${((Date.now() - started) / 1000).toFixed(1)}s${failed > 0 ? `, ${failed} day(s) FAILED` : ""}.\n\n` +
        "The same against real Postgres:\n" +
        "   createdb fonte && createdb alvo\n" +
        "   npx delfos-etl fonte serve --port 8000 --database-url postgres://localhost/fonte &\n" +
        `   npx delfos-etl fonte seed --start-date ${options.startDate} --days ${options.days}\n` +
        `   DATABASE_URL=postgres://localhost/alvo npx delfos-etl run --from ${options.startDate} --to ${partitions[partitions.length - 1]!.day}\n` +
        '   psql postgres://localhost/alvo -c "SELECT d.timestamp, s.name, d.value FROM data d JOIN signal s ON s.id = d.signal_id ORDER BY 1, 2 LIMIT 8"\n'
    )
    return failed > 0 ? ExitCode.failed : ExitCode.success
  }).pipe(
    Effect.scoped,
    Effect.provide(target),
    Effect.provideService(Runner.Runner, Runner.make({ id: `${hostname()}:${process.pid}` }))
  )

export interface DemoFlags {
  readonly days?: string | undefined
  readonly startDate?: string | undefined
  readonly verbose?: boolean | undefined
}

export const run = (flags: DemoFlags): Promise<number> =>
  execute(
    Effect.gen(function* () {
      const days = yield* Settings.integer("--days", flags.days, 3, 1, 31)
      const startDate = flags.startDate ?? "2024-01-01"
      yield* Settings.partitions({ date: startDate }, "UTC" as never)
      return yield* demo({ days, startDate })
    }),
    { verbose: flags.verbose === true }
  )
