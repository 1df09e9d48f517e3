/**
 * The fonte server: the `FonteApi` handlers over a `SensorStore`, served by Node's HTTP server.
 * Handlers read requests themselves (`handleRaw`) so errors keep the reference's FastAPI shape
 * and the sensors route streams its JSON a page at a time. Request bodies are bounded (413).
 */

import { createServer } from "node:http"
import { SampleFrame, Signal, Timestamp } from "@delfos/etl"
import { BulkCopy, Connection, EmbeddedPostgres } from "@delfos/postgres"
import { NodeHttpServer } from "@effect/platform-node"
import type { PgClient } from "@effect/sql-pg"
import * as ByteSize from "effect/ByteSize"
import * as Effect from "effect/Effect"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import type * as HttpServerError from "effect/http/HttpServerError"
import type * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as HttpApiScalar from "effect/http-api/HttpApiScalar"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import type * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"
import { FonteApi } from "./Api.ts"
import * as Requests from "./Requests.ts"
import * as Seeding from "./Seeding.ts"
import * as SensorJson from "./SensorJson.ts"
import { SensorStore, type Turbine } from "./SensorStore.ts"

const invalid = (error: Requests.Invalid) =>
  HttpServerResponse.jsonUnsafe({ detail: error.detail }, { status: error.status })

const encoder = new TextEncoder()
const dayMillis = 86_400_000

const searchParams = (url: string) => new URL(url, "http://fonte").searchParams

const readJson = (text: string) => (text.trim() === "" ? Requests.jsonBody("null") : Requests.jsonBody(text))

/**
 * The most bytes a request body may have when `ServeOptions.maxBodyBytes` (or Effect's
 * `HttpIncomingMessage.MaxBodySize`) does not say: 1 MiB. A sensor row or a populate request is a
 * few hundred bytes.
 */
export const defaultMaxBodyBytes = 1_048_576

const tooLarge = (limit: number) =>
  HttpServerResponse.jsonUnsafe({ detail: `request body is larger than ${limit} bytes` }, { status: 413 })

const isTooLarge = (error: HttpServerError.HttpServerError) =>
  error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge"

/**
 * Runs `handle` on the request's body, or answers 413 when the body is larger than the limit: at
 * once when its Content-Length says so, without reading it, and otherwise (a chunked body) as
 * soon as the bytes read pass the limit. Nothing past the limit is kept: Node's adapter discards
 * what follows and closes the connection.
 */
const withBody = <E, R>(
  request: HttpServerRequest.HttpServerRequest,
  handle: (text: string) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) =>
  Effect.gen(function* () {
    const configured = yield* HttpIncomingMessage.MaxBodySize
    const limit = configured === undefined ? defaultMaxBodyBytes : Number(ByteSize.toBigInt(configured))
    const declared = request.headers["content-length"]
    if (declared !== undefined && Number(declared) > limit) return tooLarge(limit)
    const text = yield* request.text.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(limit)),
      Effect.catchIf(isTooLarge, () => Effect.succeed(undefined)),
      // Anything else is the client going away mid-body: nobody is left to answer.
      Effect.orDie
    )
    return text === undefined ? tooLarge(limit) : yield* handle(text)
  })

const SystemHandlers = HttpApiBuilder.group(FonteApi, "system", (handlers) =>
  handlers.handle("health", () => Effect.succeed({ status: "ok" as const }))
)

const SensorsHandlers = HttpApiBuilder.group(
  FonteApi,
  "sensors",
  Effect.fn(function* (handlers) {
    const store = yield* SensorStore

    const populate = Effect.fn("fonte.populate")(function* (text: string) {
      const body = readJson(text)
      if (body._tag === "Invalid") return invalid(body)
      const input = Requests.populateInput(body.value)
      if (input._tag === "Invalid") return invalid(input)
      const { days, start } = input.value
      const written = yield* Effect.orDie(Seeding.seed(input.value))
      return HttpServerResponse.jsonUnsafe(
        {
          message: `Database populated with ${written} records`,
          details: {
            total_records: written,
            start: Timestamp.formatNaive(start),
            end: Timestamp.formatNaive(start + days * dayMillis)
          }
        },
        { status: 201 }
      )
    })

    /** The turbines a query asks for, or its farm's first; a 422 for a turbine the farm lacks. */
    const turbinesOf = (asked: ReadonlyArray<Requests.TurbineRef> | undefined) =>
      Effect.map(
        Effect.orDie(store.known(asked?.map((turbine) => turbine.turbineId) ?? [])),
        (farm): Requests.Invalid | ReadonlyArray<Turbine> => {
          if (asked === undefined) return farm.slice(0, 1)
          const unknown = Requests.unknownTurbines(asked, new Set(farm.map((turbine) => turbine.turbineId)))
          if (unknown !== undefined) return unknown
          const byName = new Map(farm.map((turbine) => [turbine.turbineId, turbine]))
          return asked.map((turbine) => byName.get(turbine.turbineId)!)
        }
      )

    return handlers
      .handle("turbines", () =>
        Effect.map(Effect.orDie(store.turbines), (farm) =>
          farm.map((turbine) => ({
            turbine_id: turbine.turbineId,
            rated_power: turbine.ratedPower,
            x: turbine.x,
            y: turbine.y
          }))
        )
      )
      .handleRaw("list", ({ request }) =>
        Effect.gen(function* () {
          const query = Requests.sensorsQuery(searchParams(request.url))
          if (query._tag === "Invalid") return invalid(query)
          const { end, format, metrics, start, turbines: asked } = query.value
          const chosen = yield* turbinesOf(asked)
          if ("_tag" in chosen) return invalid(chosen)
          const shape = { metrics, withTurbine: asked !== undefined }
          const write = format === "columns" ? SensorJson.columnsWriter(shape) : SensorJson.writer(shape, format)
          const pages = store.range(chosen, start, end).pipe(Stream.map(write))
          if (format !== "json") return HttpServerResponse.stream(pages, { contentType: "application/x-ndjson" })
          // One JSON array, written a page at a time: "[" row ("," row)* "]".
          const body = pages.pipe(
            Stream.prepend([encoder.encode("[")]),
            Stream.concat(Stream.succeed(encoder.encode("]")))
          )
          return HttpServerResponse.stream(body, { contentType: "application/json" })
        })
      )
      .handleRaw("create", ({ request }) =>
        withBody(request, (text) =>
          Effect.gen(function* () {
            const body = readJson(text)
            if (body._tag === "Invalid") return invalid(body)
            const input = Requests.sensorInput(body.value)
            if (input._tag === "Invalid") return invalid(input)
            const { t, turbineId, values } = input.value
            const columns = Object.fromEntries(
              Signal.knownVariables.map((name) => [name, Float64Array.of(values[name] ?? Number.NaN)])
            )
            // Without a turbine_id the row is the farm's first turbine's; a new name adds a turbine.
            yield* Effect.orDie(store.upsert(SampleFrame.make(Float64Array.of(t), columns), turbineId))
            return HttpServerResponse.jsonUnsafe(
              {
                ...(turbineId === undefined ? {} : { turbine_id: turbineId }),
                timestamp: Timestamp.formatNaive(t),
                ...Object.fromEntries(Signal.knownVariables.map((name) => [name, values[name] ?? null]))
              },
              { status: 201 }
            )
          })
        )
      )
      .handleRaw("populate", ({ request }) => withBody(request, populate))
      .handleRaw("seed", ({ request }) => withBody(request, populate))
  })
)

/** The API's routes, `/openapi.json` and the `/docs` page, needing a `SensorStore`. */
export const routes = Layer.mergeAll(
  HttpApiBuilder.layer(FonteApi, { openapiPath: "/openapi.json" }).pipe(
    Layer.provide([SystemHandlers, SensorsHandlers])
  ),
  HttpApiScalar.layer(FonteApi, { path: "/docs" })
)

export interface ServeOptions {
  /** 8000 by default, as the reference; 0 picks a free port. */
  readonly port?: number | undefined
  readonly host?: string | undefined
  /** Log each request and the listening address (off by default: a library stays quiet). */
  readonly log?: boolean | undefined
  /** The most bytes a request body may have; larger ones get 413. `defaultMaxBodyBytes` (1 MiB) by default. */
  readonly maxBodyBytes?: number | undefined
}

/** The routes served on Node's HTTP server; exposes `HttpServer` (its address). */
export const layerServer = (options: ServeOptions = {}) =>
  HttpRouter.serve(routes, { disableLogger: options.log !== true, disableListenLog: options.log !== true }).pipe(
    Layer.provide(
      Layer.succeed(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(options.maxBodyBytes ?? defaultMaxBodyBytes))
    ),
    Layer.provideMerge(
      NodeHttpServer.layer(createServer, { port: options.port ?? 8000, host: options.host ?? "127.0.0.1" })
    )
  )

export interface DatabaseOptions {
  /** A Postgres URL; without one, an embedded PGlite database (in `dataDir`, or in memory). */
  readonly databaseUrl?: string | undefined
  readonly dataDir?: string | undefined
  readonly maxConnections?: number | undefined
}

/**
 * The `SensorStore` on the given database (sessions in UTC, like every connection of the project),
 * seeding through binary COPY, or on an embedded one, seeding from `unnest`.
 */
export const layerStore = (options: DatabaseOptions = {}) => {
  const client: Layer.Layer<
    PgClient.PgClient | SqlClient.SqlClient,
    SqlError.SqlError | Connection.InvalidDatabaseUrl | EmbeddedPostgres.EmbeddedPostgresError
  > =
    options.databaseUrl !== undefined
      ? Connection.layer(options.databaseUrl, { maxConnections: options.maxConnections ?? 8 })
      : EmbeddedPostgres.layerClient({ dataDir: options.dataDir })
  // Seeding copies in binary through pg on a server (its pool opens at the first seed).
  const bulk =
    options.databaseUrl !== undefined ? BulkCopy.layer(options.databaseUrl, { maxConnections: 2 }) : Layer.empty
  return SensorStore.layer.pipe(Layer.provide(Layer.merge(client, bulk)))
}

/** The whole fonte: server and store. */
export const layer = (options: ServeOptions & DatabaseOptions = {}) =>
  layerServer(options).pipe(Layer.provide(layerStore(options)))

export interface FonteServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** Stops the server and closes the database. */
  readonly close: () => Promise<void>
}

/** Starts the fonte server as a library call: `await createFonteServer({ port: 0 })`. */
export const createFonteServer = async (options: ServeOptions & DatabaseOptions = {}): Promise<FonteServer> => {
  const runtime = ManagedRuntime.make(layer(options))
  const address = await runtime.runPromise(
    Effect.gen(function* () {
      return (yield* HttpServer.HttpServer).address
    })
  )
  const port = address._tag === "UnixPathAddress" ? 0 : address.port
  return { url: `http://127.0.0.1:${port}`, port, close: () => runtime.dispose() }
}
