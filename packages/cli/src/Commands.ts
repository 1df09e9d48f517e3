/**
 * One Effect program per command. Each takes typed settings (already validated by `Settings`),
 * builds the layers it needs, prints what a person (or, with `--json`, a script) wants to read,
 * and returns its exit code.
 */
import { Partition } from "@delfos/etl"
import { Migrations, PostgresSink, RunLedger } from "@delfos/etl-sink-postgres"
import { HttpSource } from "@delfos/etl-source-http"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Database from "./Database.ts"
import { exitCodes } from "./Failure.ts"
import * as Progress from "./Progress.ts"
import type { Settings } from "./Settings.ts"

const out = (text: string) => Effect.sync(() => process.stdout.write(text))
const note = (text: string) => Effect.sync(() => process.stderr.write(text))

const number = (n: number) => n.toLocaleString("en-US")

/** The target's layers: the Postgres sink and the run ledger, over the settings' database. */
const targetLayer = (settings: Settings) =>
  Layer.mergeAll(PostgresSink.layerFromClient(), RunLedger.layerFromClient).pipe(
    Layer.provide(Database.layer({ ...settings, dataDir: `${settings.dataDir}/alvo` }))
  )

const databaseNote = (settings: Settings) =>
  note(`${Database.describe({ ...settings, dataDir: `${settings.dataDir}/alvo` })}\n`)

/** `run`: extract, transform and load each partition, recorded in the ledger. */
export const run = (
  settings: Settings,
  partitions: ReadonlyArray<Partition.Partition>
): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* databaseNote(settings)
    const progress = settings.json
      ? Progress.none
      : process.stderr.isTTY && partitions.length > 1
        ? Progress.bar(process.stderr, partitions.length)
        : Progress.lines((text) => process.stdout.write(text))
    const started = Date.now()
    const options = {
      name: settings.pipeline,
      variables: settings.variables,
      statistics: settings.statistics,
      every: settings.every
    }
    const reports = yield* Stream.fromIterable(partitions).pipe(
      Stream.mapEffect(
        (partition) =>
          RunLedger.record(partition, options).pipe(Effect.tap((report) => Effect.sync(() => progress.report(report)))),
        { concurrency: settings.concurrency, unordered: true }
      ),
      Stream.runCollect
    )
    progress.finish()
    const order = new Map(partitions.map((partition, i) => [partition.day, i]))
    const sorted = [...reports].sort((a, b) => order.get(a.day)! - order.get(b.day)!)
    const failed = sorted.filter((report) => report.status === "failed")
    if (settings.json) {
      yield* out(`${JSON.stringify(sorted, null, 2)}\n`)
    } else {
      const rows = sorted.reduce((total, report) => total + report.rowsWritten, 0)
      yield* out(
        `${sorted.length} partition${sorted.length === 1 ? "" : "s"}: ${sorted.length - failed.length} succeeded` +
          `${failed.length > 0 ? `, ${failed.length} failed` : ""} · ${number(rows)} rows · ${((Date.now() - started) / 1000).toFixed(2)}s\n`
      )
    }
    return failed.length > 0 ? exitCodes.failed : exitCodes.success
  }).pipe(Effect.provide(Layer.merge(HttpSource.layer({ baseUrl: settings.sourceUrl }), targetLayer(settings))))

/** `migrate`: bring the target's schema up to date. */
export const migrate = (settings: Settings): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* databaseNote(settings)
    const applied = yield* Migrations.migrate
    yield* out(
      applied.length === 0
        ? "schema up to date: no migration to apply\n"
        : `applied ${applied.length} migration${applied.length === 1 ? "" : "s"}: ${applied.map(([id, name]) => `${id} ${name}`).join(", ")}\n`
    )
    return exitCodes.success
  }).pipe(Effect.provide(Database.layer({ ...settings, dataDir: `${settings.dataDir}/alvo` })))

const duration = (run: RunLedger.Run) =>
  run.finishedAt === null ? "" : `${((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000).toFixed(2)}s`

/** `status`: the latest run of each partition, from the ledger. */
export const status = (
  settings: Settings,
  range: { readonly from?: Partition.Day | undefined; readonly to?: Partition.Day | undefined }
): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* databaseNote(settings)
    const ledger = yield* RunLedger.RunLedger
    const runs = yield* ledger.history(settings.pipeline, range)
    if (settings.json) {
      yield* out(`${JSON.stringify(runs, null, 2)}\n`)
      return exitCodes.success
    }
    if (runs.length === 0) {
      yield* out(`no runs recorded for pipeline "${settings.pipeline}"\n`)
      return exitCodes.success
    }
    const table = [
      ["day", "status", "attempt", "samples", "rows", "duration", "error"],
      ...runs.map((run) => [
        Partition.format({ day: run.day, timeZone: run.timeZone }),
        run.status,
        String(run.attempt),
        run.samplesRead === null ? "" : number(run.samplesRead),
        run.rowsWritten === null ? "" : number(run.rowsWritten),
        duration(run),
        run.error ?? ""
      ])
    ]
    const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)))
    for (const row of table)
      yield* out(
        `${row
          .map((cell, c) => cell.padEnd(widths[c]!))
          .join("  ")
          .trimEnd()}\n`
      )
    const failed = runs.filter((run) => run.status === "failed").length
    yield* out(`\n${runs.length} partitions: ${runs.length - failed} succeeded or running, ${failed} failed\n`)
    return exitCodes.success
  }).pipe(Effect.provide(targetLayer(settings)))

export interface ServeOptions {
  readonly port: number
  readonly host: string
  readonly databaseUrl: string | undefined
  readonly dataDir: string
}

/** `fonte serve`: the reference server until SIGINT/SIGTERM. */
export const serve = (options: ServeOptions): Effect.Effect<never, unknown> =>
  Effect.gen(function* () {
    yield* note(
      options.databaseUrl === undefined
        ? `fonte: using the embedded database in ${options.dataDir}/fonte (give --database-url for Postgres)\n`
        : `fonte: using Postgres at ${Database.describe(options)}\n`
    )
    const { Server } = yield* Effect.promise(() => import("@delfos/fonte"))
    return yield* Layer.launch(
      Server.layer({
        port: options.port,
        host: options.host,
        databaseUrl: options.databaseUrl,
        dataDir: `${options.dataDir}/fonte`,
        log: true
      })
    )
  })

export interface SeedOptions {
  readonly startDate: string
  readonly days: number
  readonly seed: number
  /** A running server's root, e.g. http://localhost:8000; used unless `databaseUrl` is given. */
  readonly url: string
  readonly databaseUrl: string | undefined
}

/** Seeding failed: the server was unreachable or refused. */
export class SeedFailed extends Schema.TaggedError<SeedFailed>()("SeedFailed", { message: Schema.String }) {}

/** `fonte seed`: through a running server's API, or straight into a database. */
export const seed = (options: SeedOptions): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    if (options.databaseUrl !== undefined) {
      const { Generator, SensorStore, Server } = yield* Effect.promise(() => import("@delfos/fonte"))
      const start = Date.parse(`${options.startDate}T00:00:00Z`)
      const written = yield* Effect.flatMap(SensorStore.SensorStore, (store) =>
        store.upsert(Generator.generate({ start, days: options.days, seed: options.seed }))
      ).pipe(Effect.provide(Server.layerStore({ databaseUrl: options.databaseUrl })))
      yield* out(
        `seeded ${number(written)} samples from ${options.startDate} (${options.days} days, seed ${options.seed})\n`
      )
      return exitCodes.success
    }
    const root = options.url.replace(/\/+$/, "").replace(/\/api\/v1$/, "")
    const response = yield* Effect.tryPromise({
      try: () =>
        fetch(`${root}/api/v1/sensors/populate_database`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ start_date: options.startDate, days: options.days, seed: options.seed })
        }).then(async (answer) => ({ status: answer.status, body: await answer.text() })),
      catch: (error) =>
        new SeedFailed({ message: `fonte unreachable at ${root}: ${String((error as Error).cause ?? error)}` })
    })
    if (response.status !== 201) {
      return yield* new SeedFailed({ message: `fonte at ${root} answered ${response.status}: ${response.body}` })
    }
    const answer = JSON.parse(response.body) as { message: string }
    yield* out(`${answer.message} (${options.startDate}, ${options.days} days, seed ${options.seed})\n`)
    return exitCodes.success
  })
