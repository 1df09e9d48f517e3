/**
 * `delfos-etl fonte serve` (the reference fonte server until SIGINT/SIGTERM, a line per request
 * unless `--quiet`) and `delfos-etl fonte seed` (through a running server, or into its database).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpServer from "effect/http/HttpServer"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as References from "effect/References"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { execute } from "../Execute.ts"
import * as ExitCode from "../ExitCode.ts"
import { number } from "../Format.ts"
import * as Layers from "../Layers.ts"
import { defaults } from "../Options.ts"
import * as Settings from "../Settings.ts"
import { note, out } from "./Run.ts"

/** The fonte could not start or seeding failed: why, in a line. */
export class FonteFailed extends Schema.TaggedError<FonteFailed>()("FonteFailed", { message: Schema.String }) {}

export interface ServeFlags {
  readonly port?: string | undefined
  readonly host?: string | undefined
  readonly databaseUrl?: string | undefined
  readonly dataDir?: string | undefined
  readonly quiet?: boolean | undefined
  readonly verbose?: boolean | undefined
}

export interface SeedFlags {
  readonly startDate?: string | undefined
  readonly days?: string | undefined
  readonly seed?: string | undefined
  readonly turbines?: string | undefined
  readonly url?: string | undefined
  readonly databaseUrl?: string | undefined
  readonly verbose?: boolean | undefined
}

const time = (date: Date) => date.toISOString().slice(11, 23)

/**
 * The server's log, a line per event: `12:00:01.234 GET /api/v1/sensors?… 200 3ms`. Effect's
 * default logger writes a block of lines per request. Its "Listening on" line is the command's own.
 */
const requestLog = Logger.make(({ date, fiber, message }) => {
  const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
  if (text.startsWith("Listening on")) return
  const annotations = fiber.getRef(References.CurrentLogAnnotations)
  const spans = fiber.getRef(References.CurrentLogSpans)
  const took = spans.length > 0 ? ` ${date.getTime() - spans[0]![1]}ms` : ""
  const line =
    annotations["http.method"] !== undefined
      ? `${annotations["http.method"]} ${annotations["http.url"]} ${annotations["http.status"]}${took}`
      : text
  process.stderr.write(`${time(date)} ${line}\n`)
})

/** A port that is taken, or an address that cannot be listened on, as one line. */
const listenFailure = (port: number, host: string) => (error: { readonly cause?: unknown }) => {
  const cause = error.cause as NodeJS.ErrnoException | undefined
  return new FonteFailed({
    message:
      cause?.code === "EADDRINUSE"
        ? `port ${port} on ${host} is already in use: stop what listens there, or give another --port (0 picks a free one)`
        : `cannot listen on ${host}:${port}: ${cause?.message ?? String(cause)}`
  })
}

export const serve = (flags: ServeFlags): Promise<number> =>
  execute(
    Effect.gen(function* () {
      const port = yield* Settings.integer("--port", flags.port, defaults.port, 0, 65_535)
      const host = flags.host ?? defaults.host
      const databaseUrl = flags.databaseUrl === "" ? undefined : flags.databaseUrl
      if (databaseUrl !== undefined) yield* Settings.checkDatabaseUrl(databaseUrl)
      const dataDir = `${flags.dataDir ?? defaults.dataDir}/fonte`
      yield* note(`fonte: ${Layers.describe({ databaseUrl, dataDir })}\n`)
      // The server and its store are loaded only for this command.
      const { Server } = yield* Effect.promise(() => import("@delfos/fonte"))
      return yield* Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(
            Server.layer({ port, host, databaseUrl, dataDir, log: flags.quiet !== true })
          ).pipe(Effect.catchTag("ServeError", (error) => Effect.fail(listenFailure(port, host)(error))))
          const url = HttpServer.formatAddress(Context.get(context, HttpServer.HttpServer).address)
          yield* note(`fonte: Listening on ${url} (API ${url}/api/v1, docs ${url}/docs); Ctrl-C stops it\n`)
          return yield* Effect.never
        })
      ).pipe(Effect.provide(Logger.layer([requestLog])))
    }),
    { verbose: flags.verbose === true, interrupted: "success" }
  )

export const seed = (flags: SeedFlags): Promise<number> =>
  execute(
    Effect.gen(function* () {
      const startDate = flags.startDate ?? ""
      yield* Settings.partitions({ date: startDate }, "UTC" as never)
      const days = yield* Settings.integer("--days", flags.days, 1, 1, 366)
      const seed = yield* Settings.integer("--seed", flags.seed, defaults.seed, 0, Number.MAX_SAFE_INTEGER)
      const turbines = yield* Settings.integer("--turbines", flags.turbines, 1, 1, 1000)
      const farm = flags.turbines === undefined ? "" : `, ${turbines} turbine${turbines === 1 ? "" : "s"}`
      const databaseUrl = flags.databaseUrl === "" ? undefined : flags.databaseUrl
      if (databaseUrl !== undefined) {
        yield* Settings.checkDatabaseUrl(databaseUrl)
        const { Requests, Seeding, Server } = yield* Effect.promise(() => import("@delfos/fonte"))
        // The API's rules for a populate request (the days must end by 9999-12-31), without the API.
        const input = Requests.populateInput({ start_date: startDate, days, seed })
        if (input._tag === "Invalid") {
          const detail = typeof input.detail === "string" ? [input.detail] : input.detail.map((issue) => issue.msg)
          return yield* new FonteFailed({ message: `cannot seed ${startDate}: ${detail.join("; ")}` })
        }
        const started = Date.now()
        const written = yield* Seeding.seed({ start: input.value.start, days, seed, turbines }).pipe(
          Effect.provide(Server.layerStore({ databaseUrl }))
        )
        const took = (Date.now() - started) / 1000
        yield* out(
          `seeded ${number(written)} samples from ${startDate} (${days} days${farm}, seed ${seed}) in ${took.toFixed(1)}s` +
            ` (${number(Math.round(written / Math.max(took, 0.001)))} samples/s)\n`
        )
        return ExitCode.success
      }
      const url = yield* Settings.httpUrl("--url", flags.url ?? `http://localhost:${defaults.port}`)
      // The client alone: the server and PGlite are not loaded to talk to a server.
      const FonteClient = yield* Effect.promise(() => import("@delfos/fonte/FonteClient"))
      // A server started a moment ago (`fonte serve … &`) is given a few seconds to listen.
      const answer = yield* FonteClient.populate(url, { startDate, days, seed, turbines }).pipe(
        Effect.retry({
          schedule: Schedule.spaced("250 millis"),
          times: 40,
          while: (error) => error.status === undefined
        }),
        Effect.provide(FetchHttpClient.layer),
        Effect.mapError((error) => new FonteFailed({ message: error.message }))
      )
      yield* out(`${answer.message} (${startDate}, ${days} days${farm}, seed ${seed})\n`)
      return ExitCode.success
    }),
    { verbose: flags.verbose === true }
  )
