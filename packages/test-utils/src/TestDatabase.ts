/**
 * A fresh Postgres database for each integration test file: a new database on the server at
 * `DATABASE_URL`, else a throwaway container when a Docker daemon answers, else PGlite in memory.
 */
import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { Connection, EmbeddedPostgres } from "@delfos/postgres"
import { PgClient } from "@effect/sql-pg"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"

/** Where the database lives: a server from `DATABASE_URL`, a Docker container, or PGlite in process. */
export const Kind = Schema.Literals(["postgres", "testcontainers", "pglite"])
export type Kind = typeof Kind.Type

export interface Info {
  /** A connection URL, `postgres://user[:password]@host:port/database`. */
  readonly url: string
  readonly kind: Kind
  /** The most connections a client should open: 1 for PGlite, which runs one query at a time. */
  readonly maxConnections: number
}

/** A database from the Promise API; `release()` drops it, and is safe to call more than once. */
export interface Handle extends Info {
  readonly release: () => Promise<void>
}

/** The database could not be made ready. */
export class TestDatabaseUnavailable extends Schema.TaggedError<TestDatabaseUnavailable>()("TestDatabaseUnavailable", {
  kind: Kind,
  reason: Schema.String
}) {
  override get message(): string {
    return `no ${this.kind} test database: ${this.reason}`
  }
}

/** No Docker (or compatible) daemon answers, so there are no containers: fall through to PGlite. */
export class ContainerRuntimeUnavailable extends Schema.TaggedError<ContainerRuntimeUnavailable>()(
  "ContainerRuntimeUnavailable",
  { reason: Schema.String }
) {
  override get message(): string {
    return `no container runtime: ${this.reason}`
  }
}

/** The test database of the current scope, for `@effect/vitest`'s `layer(...)`. */
export class TestDatabase extends Context.Service<TestDatabase, Info>()("@delfos/test-utils/TestDatabase") {}

/** The image of the testcontainers path. */
export const containerImage = "postgres:16-alpine"

// Connections a client may open to a real server; @effect/sql-pg's own default.
const serverConnections = 10

// A failure while cleaning up is not the test's failure, but the leftover must be named.
const releaseQuietly = (what: string, release: () => Promise<unknown>) =>
  Effect.tryPromise(release).pipe(
    Effect.catch((error) =>
      Effect.logWarning(`@delfos/test-utils: could not ${what}: ${Connection.reasonOf(error.cause)}`)
    )
  )

// One statement on the server's maintenance database, over a connection of its own.
const onServer = (serverUrl: string, statement: string): Effect.Effect<void, SqlError.SqlError> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(statement)
  }).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(serverUrl), maxConnections: 1, connectTimeout: "5 seconds" }))
  )

/** A new database on the server at `serverUrl` (its own name, `delfos_test_<pid>_<random>`), dropped with the scope. */
export const postgres = (serverUrl: string): Effect.Effect<Info, TestDatabaseUnavailable, Scope.Scope> =>
  Effect.gen(function* () {
    const server = yield* Effect.try({
      try: () => new URL(serverUrl),
      catch: () => new TestDatabaseUnavailable({ kind: "postgres", reason: "the server URL does not parse" })
    })
    const name = `delfos_test_${process.pid}_${randomBytes(4).toString("hex")}`
    yield* Effect.acquireRelease(
      onServer(serverUrl, `CREATE DATABASE "${name}"`).pipe(
        Effect.mapError(
          (error) =>
            new TestDatabaseUnavailable({ kind: "postgres", reason: `${server.host}: ${Connection.reasonOf(error)}` })
        )
      ),
      // FORCE ends the connections a test left open (Postgres 13+).
      () =>
        onServer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).pipe(
          Effect.catch((error) =>
            Effect.logWarning(`@delfos/test-utils: could not drop database ${name}: ${Connection.reasonOf(error)}`)
          )
        )
    )
    const url = new URL(server)
    url.pathname = `/${name}`
    return { url: url.href, kind: "postgres", maxConnections: serverConnections } as const
  })

const noContainerRuntime = "Could not find a working container runtime strategy"

/**
 * A Postgres container of its own, stopped with the scope. Fails fast with `ContainerRuntimeUnavailable`
 * when no Docker daemon answers.
 */
export const testcontainers = (
  image: string = containerImage
): Effect.Effect<Info, ContainerRuntimeUnavailable | TestDatabaseUnavailable, Scope.Scope> =>
  Effect.gen(function* () {
    const container = yield* Effect.acquireRelease(
      Effect.tryPromise({
        // Loaded on demand: testcontainers takes a third of a second to import, which the other paths need not pay.
        try: async () => {
          const { PostgreSqlContainer } = await import("@testcontainers/postgresql")
          return await new PostgreSqlContainer(image).start()
        },
        catch: (error) =>
          Connection.reasonOf(error).includes(noContainerRuntime)
            ? new ContainerRuntimeUnavailable({ reason: Connection.reasonOf(error) })
            : new TestDatabaseUnavailable({ kind: "testcontainers", reason: Connection.reasonOf(error) })
      }),
      (container) => releaseQuietly(`stop container ${container.getId()}`, () => container.stop())
    )
    return { url: container.getConnectionUri(), kind: "testcontainers", maxConnections: serverConnections } as const
  })

/**
 * An embedded database in memory, served over TCP on a free port of 127.0.0.1 (so that child
 * processes reach it too), closed with the scope. Its connections take turns, as on the product's
 * embedded default.
 */
export const pglite: Effect.Effect<Info, TestDatabaseUnavailable, Scope.Scope> = Effect.gen(function* () {
  const embedded = yield* EmbeddedPostgres.make()
  const url = yield* embedded.listen(0)
  return { url, kind: "pglite", maxConnections: 1 } as const
}).pipe(Effect.mapError((error) => new TestDatabaseUnavailable({ kind: "pglite", reason: error.reason })))

/**
 * Which kind `make` will pick, known before any I/O (for `it.skipIf` at collection time):
 * `postgres` with `DATABASE_URL`, `testcontainers` when a Docker socket is there, else `pglite`.
 */
export const plannedKind = (env: NodeJS.ProcessEnv = process.env): Kind =>
  env.DATABASE_URL !== undefined && env.DATABASE_URL !== ""
    ? "postgres"
    : env.DOCKER_HOST !== undefined || existsSync("/var/run/docker.sock")
      ? "testcontainers"
      : "pglite"

/** Whether the tests run on the embedded database: one backend, where sessions take turns. */
export const onPglite: boolean = plannedKind() === "pglite"

/** `DATABASE_URL` when set and not empty. */
export const databaseUrl: Effect.Effect<Option.Option<string>> = Config.option(Config.String("DATABASE_URL")).pipe(
  Effect.orDie
)

/**
 * A fresh database, released with the scope: on the `DATABASE_URL` server when that is set (and an error if
 * that server fails: it was asked for), else in a container, else in PGlite.
 */
export const make: Effect.Effect<Info, TestDatabaseUnavailable, Scope.Scope> = Effect.gen(function* () {
  const serverUrl = yield* databaseUrl
  if (Option.isSome(serverUrl)) return yield* postgres(serverUrl.value)
  return yield* testcontainers().pipe(
    Effect.catchTag("ContainerRuntimeUnavailable", (error) =>
      Effect.logDebug(`@delfos/test-utils: ${error.message}; using PGlite`).pipe(Effect.andThen(pglite))
    )
  )
})

/** A `TestDatabase` for the layer's lifetime. */
export const layer: Layer.Layer<TestDatabase, TestDatabaseUnavailable> = Layer.effect(
  TestDatabase,
  Effect.map(make, TestDatabase.of)
)

/**
 * `PgClient` and `SqlClient` on a fresh database (and its `TestDatabase`), with the pool capped to what the
 * database serves. `options` are passed to `PgClient.layer`.
 */
export const pgClientLayer = (
  options: Omit<PgClient.PgPoolConfig, "url" | "maxConnections"> = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient | TestDatabase, TestDatabaseUnavailable | SqlError.SqlError> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const db = yield* TestDatabase
      return PgClient.layer({
        startupParameters: Connection.sessionParameters,
        ...options,
        url: Redacted.make(db.url),
        maxConnections: db.maxConnections
      })
    })
  ).pipe(Layer.provideMerge(layer))

// Runs a scoped acquisition in a scope of its own, which `release()` closes.
const toHandle = async <E>(acquire: Effect.Effect<Info, E, Scope.Scope>): Promise<Handle> => {
  const scope = Scope.makeUnsafe()
  const exit = await Effect.runPromiseExit(Scope.provide(scope)(acquire))
  if (Exit.isFailure(exit)) {
    await Effect.runPromise(Scope.close(scope, exit))
    throw Cause.squash(exit.cause)
  }
  let released: Promise<void> | undefined
  return { ...exit.value, release: () => (released ??= Effect.runPromise(Scope.close(scope, Exit.void))) }
}

/** A fresh database, picked as `make` does; rejects with `TestDatabaseUnavailable`. */
export const acquire = (): Promise<Handle> => toHandle(make)

/** A new database on the server at `serverUrl`; rejects with `TestDatabaseUnavailable`. */
export const acquirePostgres = (serverUrl: string): Promise<Handle> => toHandle(postgres(serverUrl))

/** A container of its own; rejects with `ContainerRuntimeUnavailable` when no Docker daemon answers. */
export const acquireTestcontainers = (image: string = containerImage): Promise<Handle> =>
  toHandle(testcontainers(image))

/** PGlite in memory over TCP; rejects with `TestDatabaseUnavailable`. */
export const acquirePglite = (): Promise<Handle> => toHandle(pglite)

/** Runs one statement on the database at `url` (one connection, closed after) and returns its rows. */
export const query = <A extends object = Record<string, unknown>>(
  url: string,
  statement: string
): Promise<ReadonlyArray<A>> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return yield* sql.unsafe<A>(statement)
    }).pipe(
      Effect.provide(
        PgClient.layer({ url: Redacted.make(url), maxConnections: 1, startupParameters: Connection.sessionParameters })
      ),
      Effect.scoped
    )
  )
