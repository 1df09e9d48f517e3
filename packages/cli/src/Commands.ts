/**
 * One Effect program per command. Each takes typed settings (already validated by `Settings`),
 * builds the layers it needs, prints what a person (or, with `--json`, a script) wants to read,
 * and returns its exit code.
 */
import { Backfill, Ledger, Partition, Partitions, Pipeline, Runner, Scheduler, Source } from "@delfos/etl"
import { Migrations, PostgresSink, RunLedger } from "@delfos/etl-sink-postgres"
import { HttpSource } from "@delfos/etl-source-http"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Calendar from "./Calendar.ts"
import * as Database from "./Database.ts"
import { exitCodes } from "./Failure.ts"
import * as Progress from "./Progress.ts"
import { type Settings, UsageError } from "./Settings.ts"

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

/** A command's layers, and this process as the runner of the runs it records. */
const provide =
  <ROut>(settings: Settings, layer: Layer.Layer<ROut, unknown>) =>
  <A, E, R>(program: Effect.Effect<A, E, R>) =>
    program.pipe(Effect.provide(layer), Effect.provideService(Runner.Runner, settings.runner))

const pipelineOptions = (settings: Settings): Pipeline.PipelineOptions => ({
  name: settings.pipeline,
  variables: settings.variables,
  statistics: settings.statistics,
  every: settings.every,
  allowEmpty: settings.allowEmpty
})

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
    const options = pipelineOptions(settings)
    // A partition's failure, its load's or its ledger writes', is in its report: the others go on.
    const reports = yield* Stream.fromIterable(partitions).pipe(
      Stream.mapEffect(
        (partition) =>
          Pipeline.runRecorded(partition, options).pipe(
            Effect.tap((report) => Effect.sync(() => progress.report(report)))
          ),
        { concurrency: settings.concurrency, unordered: true }
      ),
      Stream.runCollect
    )
    progress.finish()
    const order = new Map(partitions.map((partition, i) => [partition.day, i]))
    const sorted = [...reports].sort((a, b) => order.get(a.day)! - order.get(b.day)!)
    if (settings.json) {
      yield* out(`${JSON.stringify(sorted, null, 2)}\n`)
    } else {
      const rows = sorted.reduce((total, report) => total + report.rowsWritten, 0)
      yield* out(
        `${sorted.length} partition${sorted.length === 1 ? "" : "s"}: ${Progress.counts(sorted)}` +
          ` · ${number(rows)} rows · ${((Date.now() - started) / 1000).toFixed(2)}s\n`
      )
    }
    return Progress.anyFailed(sorted) ? exitCodes.failed : exitCodes.success
  }).pipe(provide(settings, Layer.merge(HttpSource.layer({ baseUrl: settings.sourceUrl }), targetLayer(settings))))

/** `migrate`: bring the target's schema up to date. */
export const migrate = (settings: Settings): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* databaseNote(settings)
    const { applied, notes } = yield* Migrations.run
    for (const line of notes) yield* out(`${line}\n`)
    yield* out(
      applied.length === 0
        ? "schema up to date: no migration to apply\n"
        : `applied ${applied.length} migration${applied.length === 1 ? "" : "s"}: ${applied.map(([id, name]) => `${id} ${name}`).join(", ")}\n`
    )
    return exitCodes.success
  }).pipe(Effect.provide(Database.layer({ ...settings, dataDir: `${settings.dataDir}/alvo` })))

/** The range `status` shows: `--from` (else the start day, else the first day in the ledger) to `--to` (else yesterday). */
const statusRange = (
  settings: Settings,
  range: { readonly from?: Partition.Day | undefined; readonly to?: Partition.Day | undefined }
) =>
  Effect.gen(function* () {
    const to = range.to ?? Partitions.lastCompleteDay(settings.timeZone, yield* Clock.currentTimeMillis)
    if (range.from !== undefined || settings.startDay !== undefined) {
      return { from: (range.from ?? settings.startDay)!, to }
    }
    const ledger = yield* Ledger.Ledger
    const runs = yield* ledger.history(settings.pipeline, { to })
    const first = runs.find((run) => run.timeZone === settings.timeZone)
    return first === undefined ? undefined : { from: first.day, to }
  })

const seconds = (ms: number | null) => (ms === null ? "" : `${(ms / 1000).toFixed(2)}s`)

/** `status`: each partition's state from the ledger, as a calendar with totals, or JSON. */
export const status = (
  settings: Settings,
  range: { readonly from?: Partition.Day | undefined; readonly to?: Partition.Day | undefined }
): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* databaseNote(settings)
    const bounds = yield* statusRange(settings, range)
    const partitions =
      bounds === undefined
        ? []
        : Partition.days(bounds.from, bounds.to).map((day) => ({ day, timeZone: settings.timeZone }))
    const states = yield* Partitions.states(settings.pipeline, partitions)
    if (settings.json) {
      yield* out(`${JSON.stringify(states, null, 2)}\n`)
      return exitCodes.success
    }
    if (states.length === 0) {
      yield* out(`no runs recorded for pipeline "${settings.pipeline}" (give --from or --start-day to see a range)\n`)
      return exitCodes.success
    }
    const color = process.stdout.isTTY === true
    yield* out(
      `pipeline "${settings.pipeline}", ${states[0]!.day} to ${states[states.length - 1]!.day} (${settings.timeZone})\n\n`
    )
    for (const line of Calendar.render(states, color)) yield* out(`${line}\n`)
    const totals = Partitions.count(states)
    yield* out(`\n${Calendar.legend(totals, color)}  (${states.length} days)\n`)
    const recent = states
      .filter((state) => state.startedAt !== null)
      .sort((a, b) => (a.startedAt! < b.startedAt! ? 1 : -1))
      .slice(0, 8)
    if (recent.length > 0) {
      yield* out("\nlast runs:\n")
      for (const state of recent) {
        const detail =
          state.status === "failed"
            ? (state.lastError ?? "")
            : state.status === "empty"
              ? `no samples${(state.rowsDeleted ?? 0) > 0 ? `, ${number(state.rowsDeleted!)} earlier rows removed` : ", earlier rows kept"} ${seconds(state.durationMs)}`
              : `${state.rowsWritten === null ? "" : `${number(state.rowsWritten)} rows`} ${seconds(state.durationMs)}`.trim()
        yield* out(
          `  ${Partition.format(state)}  ${state.status.padEnd(9)}  attempt ${state.attempts}  ${state.startedAt!.slice(0, 19).replace("T", " ")}  ${detail}\n`
        )
      }
    }
    return exitCodes.success
  }).pipe(provide(settings, targetLayer(settings)))

export interface BackfillFlags {
  readonly only: ReadonlyArray<Partitions.PartitionStatus>
  readonly maxAttempts: number
  readonly maxRequestsPerSecond: number | undefined
}

/** The HTTP source, rate-limited when asked. */
const sourceLayer = (settings: Settings, maxRequestsPerSecond: number | undefined) =>
  maxRequestsPerSecond === undefined
    ? HttpSource.layer({ baseUrl: settings.sourceUrl })
    : Layer.effect(
        Source.Source,
        Effect.map(HttpSource.make({ baseUrl: settings.sourceUrl }), (source) =>
          Source.rateLimited(source, maxRequestsPerSecond)
        )
      ).pipe(Layer.provide(FetchHttpClient.layer))

/** `backfill`: the range's partitions that need it, retried with backoff, with progress and a summary. */
export const backfill = (
  settings: Settings,
  partitions: ReadonlyArray<Partition.Partition>,
  flags: BackfillFlags
): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* databaseNote(settings)
    let progress: Progress.Progress = Progress.none
    const started = Date.now()
    const events = yield* Backfill.run(partitions, {
      ...pipelineOptions(settings),
      concurrency: settings.concurrency,
      only: flags.only,
      maxAttempts: flags.maxAttempts
    }).pipe(
      Stream.tap((event) =>
        Effect.sync(() => {
          if (event._tag === "Planned") {
            if (!settings.json) {
              process.stdout.write(
                `${event.partitions.length} of ${partitions.length} partitions to run (${event.skipped} skipped: not ${flags.only.join(" or ")})\n`
              )
            }
            progress = settings.json
              ? Progress.none
              : process.stderr.isTTY
                ? Progress.bar(process.stderr, event.partitions.length)
                : Progress.lines((text) => process.stdout.write(text))
          } else if (event.final) {
            progress.report(event.report)
          } else if (!settings.json) {
            process.stderr.write(
              `${Partition.format(event.report)} attempt ${event.attempt} failed, retrying: ${event.report.error?.message}\n`
            )
          }
        })
      ),
      Stream.runCollect
    )
    progress.finish()
    const summary = Backfill.summarize(events)
    if (settings.json) {
      yield* out(`${JSON.stringify(summary, null, 2)}\n`)
    } else {
      yield* out(
        `backfill: ${summary.succeeded} succeeded${summary.empty > 0 ? `, ${summary.empty} empty` : ""}, ${summary.failed} failed, ` +
          `${summary.skipped} skipped, ${summary.retries} retries` +
          `${summary.unrecorded > 0 ? `, ${summary.unrecorded} not recorded in the run ledger` : ""}` +
          ` · ${((Date.now() - started) / 1000).toFixed(2)}s\n`
      )
    }
    return Progress.anyFailed(summary.reports) ? exitCodes.failed : exitCodes.success
  }).pipe(provide(settings, Layer.merge(sourceLayer(settings, flags.maxRequestsPerSecond), targetLayer(settings))))

export interface ScheduleFlags extends BackfillFlags {
  readonly cron: string
  readonly lookback: number
  readonly startDay: Partition.Day
}

/** `schedule`: tick now and at each cron time until SIGINT/SIGTERM, a line per event. */
export const schedule = (settings: Settings, flags: ScheduleFlags): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* databaseNote(settings)
    yield* out(
      `schedule "${flags.cron}" (${settings.timeZone}) for pipeline "${settings.pipeline}" from ${flags.startDay}, lookback ${flags.lookback} days\n`
    )
    yield* Scheduler.run(
      { name: settings.pipeline, startDay: flags.startDay, timeZone: settings.timeZone },
      {
        ...pipelineOptions(settings),
        concurrency: settings.concurrency,
        only: flags.only,
        maxAttempts: flags.maxAttempts,
        cron: flags.cron,
        lookback: flags.lookback
      }
    ).pipe(
      Stream.runForEach((event) => {
        const line =
          event._tag === "Tick"
            ? `tick at ${event.at}: ${event.due} partitions due`
            : event._tag === "Waiting"
              ? `next tick at ${event.until}`
              : event._tag === "Planned"
                ? `  ${event.partitions.length} to run, ${event.skipped} already done`
                : event.final
                  ? `  ${Progress.reportLine(event.report)}`
                  : `  ${Partition.format(event.report)} attempt ${event.attempt} failed, retrying`
        return out(`${line}\n`)
      })
    )
    return exitCodes.success
  }).pipe(provide(settings, Layer.merge(sourceLayer(settings, flags.maxRequestsPerSecond), targetLayer(settings))))

export interface ServeOptions {
  readonly port: number
  readonly host: string
  readonly databaseUrl: string | undefined
  readonly dataDir: string
}

/** `fonte serve`: the reference server until SIGINT/SIGTERM. */
export const serve = (options: ServeOptions): Effect.Effect<never, unknown> =>
  Effect.gen(function* () {
    yield* note(`fonte: ${Database.describe({ ...options, dataDir: `${options.dataDir}/fonte` })}\n`)
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
      const { Generator, Requests, SensorStore, Server } = yield* Effect.promise(() => import("@delfos/fonte"))
      // The API's rules for a populate request (the days must end by 9999-12-31), without the API.
      const input = Requests.populateInput({ start_date: options.startDate, days: options.days, seed: options.seed })
      if (input._tag === "Invalid") {
        const detail = typeof input.detail === "string" ? [input.detail] : input.detail.map((issue) => issue.msg)
        return yield* new SeedFailed({ message: `cannot seed ${options.startDate}: ${detail.join("; ")}` })
      }
      const written = yield* Effect.flatMap(SensorStore.SensorStore, (store) =>
        store.upsert(Generator.generate(input.value))
      ).pipe(Effect.provide(Server.layerStore({ databaseUrl: options.databaseUrl })))
      yield* out(
        `seeded ${number(written)} samples from ${options.startDate} (${options.days} days, seed ${options.seed})\n`
      )
      return exitCodes.success
    }
    // The client alone: the server and PGlite are not loaded to talk to a server.
    const FonteClient = yield* Effect.promise(() => import("@delfos/fonte/FonteClient"))
    const { days, seed, startDate } = options
    const answer = yield* FonteClient.populate(options.url, { startDate, days, seed }).pipe(
      Effect.provide(FetchHttpClient.layer),
      Effect.mapError((error) => new SeedFailed({ message: error.message }))
    )
    yield* out(`${answer.message} (${options.startDate}, ${options.days} days, seed ${options.seed})\n`)
    return exitCodes.success
  })

/** `backfill --distributed`: one queued job per day, for `delfos-etl worker` processes anywhere. */
export const enqueue = (
  settings: Settings,
  partitions: ReadonlyArray<Partition.Partition>,
  flags: { readonly maxAttempts: number }
): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    const databaseUrl = settings.databaseUrl
    if (databaseUrl === undefined) {
      return yield* new UsageError({
        message: "--distributed needs a Postgres database for the queue: give --database-url or DATABASE_URL"
      })
    }
    const { Enqueue } = yield* Effect.promise(() => import("@delfos/etl-worker"))
    const result = yield* Effect.tryPromise({
      try: () =>
        Enqueue.enqueueRange({
          databaseUrl,
          partitions,
          pipeline: settings.pipeline,
          variables: settings.variables,
          statistics: settings.statistics,
          every: settings.every,
          sourceUrl: settings.sourceUrl,
          maxAttempts: flags.maxAttempts
        }),
      catch: (error) => new EnqueueFailed({ message: error instanceof Error ? error.message : String(error) })
    })
    if (settings.json) {
      yield* out(`${JSON.stringify(result)}\n`)
    } else {
      yield* out(
        `queued ${result.added} of ${partitions.length} days (${result.alreadyQueued} already queued, ${result.requeued} requeued) for pipeline "${settings.pipeline}"; run them with: delfos-etl worker\n`
      )
    }
    return exitCodes.success
  })

/** The job queue could not be reached. */
export class EnqueueFailed extends Schema.TaggedError<EnqueueFailed>()("EnqueueFailed", { message: Schema.String }) {}
