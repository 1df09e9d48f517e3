/**
 * The UI server: the `UiApi` handlers over `Fleet` (the target database, read-only), the OpenAPI
 * document and docs page, and the built page (dist/page) as static files, on Node's HTTP server.
 * `layer` needs the `SqlClient` of the target; `start` and `serve` run it in a scope.
 */

import { existsSync } from "node:fs"
import { createServer } from "node:http"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Asset, Partition } from "@delfos/etl"
import { Connection, EmbeddedPostgres } from "@delfos/postgres"
import { NodeHttpServer } from "@effect/platform-node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as HttpStaticServer from "effect/http/HttpStaticServer"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as HttpApiScalar from "effect/http-api/HttpApiScalar"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type * as Scope from "effect/Scope"
import type * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"
import { BadRequest, defaultSeriesParam, NotFound, UiApi, Unavailable } from "./Api.ts"
import * as Fleet from "./Fleet.ts"
import * as Raw from "./Raw.ts"

export interface UiOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number | undefined
  /** 127.0.0.1 by default: the UI is for this machine. */
  readonly host?: string | undefined
  /** The pipeline shown by default; the ledger's most recent when absent. */
  readonly pipeline?: string | undefined
  /** The fonte API root (e.g. `http://localhost:8000/api/v1`): raw samples beside a window when given. */
  readonly sourceUrl?: string | undefined
  /** A `running` run without a heartbeat this long (ms) counts as failed, as in `status`; 30 s by default. */
  readonly staleAfter?: number | undefined
  /** Shown by the page: which database (never with a password). */
  readonly database?: string | undefined
  /** Where the built page is; found beside this module or in the installed package when absent. */
  readonly pageDir?: string | undefined
}

/** The most days one grid or series request may span. */
export const maxDays = 366

const badRequest = (message: string) => new BadRequest({ message })
const toUnavailable = (message: string) => new Unavailable({ message })

const parseDay = (field: string, text: string, timeZone = "UTC") =>
  Partition.parse(text, timeZone).pipe(Effect.mapError((error) => badRequest(`${field}: ${error.message}`)))

/** `_` or nothing is the default series (`''`); anything else must be a turbine id. */
const parseAsset = (text: string) =>
  text === defaultSeriesParam || text === ""
    ? Effect.succeed("")
    : Asset.parse(text).pipe(Effect.mapError((error) => badRequest(error.message)))

const parseAssets = (text: string | undefined) =>
  text === undefined
    ? Effect.succeed(undefined)
    : Effect.forEach(
        text.split(",").map((part) => part.trim()),
        parseAsset
      )

const checkSpan = (from: Partition.Day, to: Partition.Day) => {
  if (to < from) return Effect.fail(badRequest(`from (${from}) is after to (${to})`))
  const days = Partition.dayNumber(to) - Partition.dayNumber(from) + 1
  return days > maxDays
    ? Effect.fail(badRequest(`${days} days asked: at most ${maxDays} at once`))
    : Effect.succeed(days)
}

const handlers = (options: UiOptions) =>
  HttpApiBuilder.group(
    UiApi,
    "fleet",
    Effect.fn(function* (handlers) {
      const fleet = yield* Fleet.Fleet

      const overview = (pipeline: string | undefined) =>
        fleet.overview(pipeline ?? options.pipeline).pipe(Effect.mapError(toUnavailable))

      const pipelineOf = (asked: string | undefined) =>
        Effect.map(overview(asked), (found) => ({ ...found, pipeline: asked ?? found.pipeline }))

      return handlers
        .handle("info", () =>
          Effect.gen(function* () {
            const found = yield* overview(undefined)
            return {
              pipelines: found.pipelines,
              pipeline: found.pipeline,
              timeZone: found.timeZone,
              firstDay: found.firstDay,
              lastDay: found.lastDay,
              turbines: yield* fleet.turbines(found.pipeline).pipe(Effect.mapError(toUnavailable)),
              variables: yield* fleet.variables.pipe(Effect.mapError(toUnavailable)),
              rawSamples: options.sourceUrl !== undefined,
              readOnly: true,
              database: options.database ?? "the target database"
            }
          })
        )
        .handle("turbines", ({ query }) =>
          Effect.flatMap(pipelineOf(query.pipeline), (found) =>
            fleet.turbines(found.pipeline).pipe(Effect.mapError(toUnavailable))
          )
        )
        .handle("partitions", ({ query }) =>
          Effect.gen(function* () {
            const found = yield* pipelineOf(query.pipeline)
            const fallback = found.lastDay ?? Partition.dayOf(Date.now(), Partition.utc)
            const to = (yield* parseDay("to", query.to ?? fallback, found.timeZone)).day
            const from = (yield* parseDay("from", query.from ?? Partition.addDays(to, -30), found.timeZone)).day
            yield* checkSpan(from, to)
            const assets = yield* parseAssets(query.turbine)
            const grid = yield* fleet
              .grid({
                pipeline: found.pipeline,
                from,
                to,
                timeZone: found.timeZone as Partition.TimeZone,
                assets
              })
              .pipe(Effect.mapError(toUnavailable))
            return { ...grid, timeZone: found.timeZone }
          })
        )
        .handle("partition", ({ params, query }) =>
          Effect.gen(function* () {
            const found = yield* pipelineOf(query.pipeline)
            const day = yield* parseDay("day", params.day, found.timeZone)
            const asset = yield* parseAsset(params.asset)
            const detail = yield* fleet
              .partition(found.pipeline, { ...day, ...(asset === "" ? {} : { asset: asset as Asset.AssetId }) })
              .pipe(Effect.mapError(toUnavailable))
            if (detail.runs.length === 0 && !found.pipelines.includes(found.pipeline)) {
              return yield* new NotFound({ message: `no pipeline "${found.pipeline}" in the ledger` })
            }
            return { ...detail, pipeline: found.pipeline }
          })
        )
        .handle("series", ({ query }) =>
          Effect.gen(function* () {
            const found = yield* pipelineOf(query.pipeline)
            const variable = query.signal ?? "wind_speed"
            if (!/^[a-z][a-z0-9_]{0,62}$/.test(variable)) {
              return yield* badRequest(`signal: "${variable}" is not a variable name such as wind_speed`)
            }
            const from = yield* parseDay("from", query.from, found.timeZone)
            const to = yield* parseDay("to", query.to ?? query.from, found.timeZone)
            yield* checkSpan(from.day, to.day)
            const start = Partition.range(from).start
            const end = Partition.range(to).end
            const assets =
              (yield* parseAssets(query.turbine)) ??
              (yield* fleet.turbines(found.pipeline).pipe(Effect.mapError(toUnavailable)))
                .slice(0, 1)
                .map((turbine) => turbine.asset)
            const series = yield* Effect.forEach(assets, (asset) =>
              fleet.series({ asset, variable, start, end }).pipe(
                Effect.mapError(toUnavailable),
                Effect.map((columns) => ({ asset, label: Fleet.label(asset), variable, ...columns }))
              )
            )
            return { variable, from: new Date(start).toISOString(), to: new Date(end).toISOString(), series }
          })
        )
        .handle("raw", ({ query }) =>
          Effect.gen(function* () {
            if (options.sourceUrl === undefined) {
              return yield* new NotFound({
                message: "no fonte configured: start the UI with --source-url to see raw samples"
              })
            }
            const asset = yield* parseAsset(query.turbine ?? "")
            const start = Date.parse(query.from)
            if (!Number.isFinite(start)) return yield* badRequest(`from: "${query.from}" is not an ISO 8601 instant`)
            const minutes = query.minutes === undefined ? 10 : Number(query.minutes)
            if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
              return yield* badRequest(`minutes: "${query.minutes}" is not a whole number from 1 to 1440`)
            }
            const end = start + minutes * 60_000
            const raw = yield* Raw.fetchWindow(options.sourceUrl, asset, start, end).pipe(
              Effect.mapError(toUnavailable)
            )
            return { asset, from: new Date(start).toISOString(), to: new Date(end).toISOString(), ...raw }
          })
        )
    })
  )

/** Where the built page is: beside this module (dist/page), else in the installed `@delfos/ui`. */
export const findPage = (pageDir?: string): string | undefined => {
  const candidates = [
    pageDir,
    fileURLToPath(new URL("./page", import.meta.url)),
    (() => {
      try {
        return join(dirname(createRequire(import.meta.url).resolve("@delfos/ui/package.json")), "dist", "page")
      } catch {
        return undefined
      }
    })()
  ]
  return candidates.find((dir) => dir !== undefined && existsSync(join(dir, "index.html")))
}

const pageRoutes = (options: UiOptions) => {
  const root = findPage(options.pageDir)
  if (root !== undefined) return HttpStaticServer.layer({ root, index: "index.html", cacheControl: "no-cache" })
  return HttpRouter.add(
    "GET",
    "/",
    HttpServerResponse.text("delfos-etl ui: the page is not built (npm run build -w @delfos/ui); the API is at /api", {
      status: 503
    })
  )
}

/** The API, `/openapi.json`, `/docs` and the page, needing a `Fleet`. */
export const routes = (options: UiOptions = {}) =>
  Layer.mergeAll(
    HttpApiBuilder.layer(UiApi, { openapiPath: "/openapi.json" }).pipe(Layer.provide(handlers(options))),
    HttpApiScalar.layer(UiApi, { path: "/docs" }),
    pageRoutes(options)
  )

/** The UI on Node's HTTP server, over the target's `SqlClient`; exposes `HttpServer` (its address). */
export const layer = (options: UiOptions = {}) =>
  HttpRouter.serve(routes(options), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provide(Fleet.layer({ staleAfter: options.staleAfter })),
    Layer.provideMerge(
      NodeHttpServer.layer(createServer, { port: options.port ?? 0, host: options.host ?? "127.0.0.1" })
    )
  )

export interface Started {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string
  readonly port: number
}

const urlOf = (server: HttpServer.HttpServer["Service"], host: string | undefined): Started => {
  const address = server.address
  const port = address._tag === "UnixPathAddress" ? 0 : address.port
  const shown = host === undefined || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host
  return { url: `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}/`, port }
}

/** Starts the UI in the current scope (it stops when the scope closes) and returns its URL. */
export const start = (options: UiOptions = {}): Effect.Effect<Started, unknown, SqlClient.SqlClient | Scope.Scope> =>
  Effect.map(Layer.build(layer(options)), (context) => urlOf(Context.get(context, HttpServer.HttpServer), options.host))

/**
 * Serves the UI until interrupted: `onStart` gets its URL once it listens (print it, open a
 * browser). For `delfos-etl ui` and `demo --ui`, over the database they already have.
 */
export const serve = <E = never, R = never>(
  options: UiOptions = {},
  onStart: (started: Started) => Effect.Effect<void, E, R> = () => Effect.void
): Effect.Effect<never, unknown, SqlClient.SqlClient | R> =>
  Effect.scoped(
    Effect.gen(function* () {
      yield* onStart(yield* start(options))
      return yield* Effect.never
    })
  )

export interface DatabaseOptions {
  /** A Postgres URL; without one, the embedded PGlite database in `dataDir` (in memory without one). */
  readonly databaseUrl?: string | undefined
  readonly dataDir?: string | undefined
  readonly maxConnections?: number | undefined
}

export interface UiServer extends Started {
  /** Stops the server and closes the database. */
  readonly close: () => Promise<void>
}

/** Starts the UI as a library call, on its own connection: `await createUiServer({ databaseUrl })`. */
export const createUiServer = async (options: UiOptions & DatabaseOptions = {}): Promise<UiServer> => {
  const client: Layer.Layer<
    SqlClient.SqlClient,
    SqlError.SqlError | Connection.InvalidDatabaseUrl | EmbeddedPostgres.EmbeddedPostgresError
  > =
    options.databaseUrl !== undefined
      ? Connection.layer(options.databaseUrl, { maxConnections: options.maxConnections ?? 4 })
      : EmbeddedPostgres.layerClient({ dataDir: options.dataDir })
  const runtime = ManagedRuntime.make(layer(options).pipe(Layer.provide(client)))
  try {
    const server = await runtime.runPromise(
      Effect.gen(function* () {
        return yield* HttpServer.HttpServer
      })
    )
    return { ...urlOf(server, options.host), close: () => runtime.dispose() }
  } catch (error) {
    await runtime.dispose()
    throw error
  }
}
