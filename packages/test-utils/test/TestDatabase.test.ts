import { PgClient } from "@effect/sql-pg"
import { afterAll, beforeAll, describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as TestDatabase from "../src/TestDatabase.ts"

const serverUrl = process.env.DATABASE_URL || undefined

// Runs `statement` on the database at `db.url` through @effect/sql-pg and returns its rows.
const query = <A extends object = Record<string, unknown>>(
  db: TestDatabase.Info,
  statement: string,
  params: ReadonlyArray<unknown> = []
): Promise<ReadonlyArray<A>> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return yield* sql.unsafe<A>(statement, params)
    }).pipe(
      Effect.provide(
        PgClient.layer({ url: Redacted.make(db.url), maxConnections: db.maxConnections, connectTimeout: "2 seconds" })
      )
    )
  )

const databaseName = (db: TestDatabase.Info) => new URL(db.url).pathname.slice(1)

const hasTable = async (db: TestDatabase.Info, table: string) =>
  (await query<{ found: boolean }>(db, "select to_regclass($1) is not null as found", [table]))[0]?.found

describe("acquire (the kind this environment picks)", () => {
  let a: TestDatabase.Handle
  let b: TestDatabase.Handle

  beforeAll(async () => {
    a = await TestDatabase.acquire()
    b = await TestDatabase.acquire()
  }, 120_000)

  afterAll(async () => {
    await a?.release()
    await b?.release()
  })

  it("picks the DATABASE_URL server when set, and never it otherwise", () => {
    if (serverUrl === undefined) expect(a.kind).not.toBe("postgres")
    else expect(a.kind).toBe("postgres")
    expect(a.maxConnections).toBe(a.kind === "pglite" ? 1 : 10)
  })

  it("gives a URL that answers select 1", async () => {
    expect(await query(a, "select 1 as one")).toEqual([{ one: 1 }])
  })

  it("gives two different databases, isolated from each other", async () => {
    expect(a.url).not.toBe(b.url)
    await query(a, "create table only_in_a (id int primary key)")
    await query(a, "insert into only_in_a values (1)")
    expect(await hasTable(a, "only_in_a")).toBe(true)
    expect(await hasTable(b, "only_in_a")).toBe(false)
  })
})

describe.skipIf(serverUrl === undefined)(
  serverUrl === undefined ? "postgres (DATABASE_URL): skipped, DATABASE_URL is not set" : "postgres (DATABASE_URL)",
  () => {
    const server: TestDatabase.Info = { url: serverUrl ?? "", kind: "postgres", maxConnections: 1 }
    const exists = async (name: string) =>
      (await query(server, "select 1 from pg_database where datname = $1", [name])).length === 1

    it("creates a uniquely named database and release drops it", async () => {
      const db = await TestDatabase.acquirePostgres(serverUrl!)
      const name = databaseName(db)
      expect(name).toMatch(new RegExp(`^delfos_test_${process.pid}_[0-9a-f]{8}$`))
      expect(await exists(name)).toBe(true)
      await db.release()
      expect(await exists(name)).toBe(false)
      // A second release is a no-op, so an afterAll can always call it.
      await db.release()
    })

    it("release drops the database even while a client is still connected", async () => {
      const db = await TestDatabase.acquirePostgres(serverUrl!)
      await Effect.runPromise(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`select 1`
          yield* Effect.promise(() => db.release())
        }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(db.url), maxConnections: 2 })))
      )
      expect(await exists(databaseName(db))).toBe(false)
    })
  }
)

describe("postgres on a server that does not answer", () => {
  it("rejects with TestDatabaseUnavailable, without falling through", async () => {
    const error = await TestDatabase.acquirePostgres("postgres://postgres@127.0.0.1:1/postgres").catch((e) => e)
    expect(error).toBeInstanceOf(TestDatabase.TestDatabaseUnavailable)
    expect(error.kind).toBe("postgres")
  })

  it.effect("make uses DATABASE_URL when set, and fails rather than picking another kind", () =>
    Effect.gen(function* () {
      const error = yield* Effect.scoped(TestDatabase.make).pipe(
        Effect.flip,
        Effect.provideService(
          ConfigProvider.ConfigProvider,
          ConfigProvider.fromEnv({ env: { DATABASE_URL: "postgres://postgres@127.0.0.1:1/postgres" } })
        )
      )
      expect(error._tag).toBe("TestDatabaseUnavailable")
      expect(error.kind).toBe("postgres")
    })
  )
})

describe("pglite (called directly, whatever DATABASE_URL says)", () => {
  let db: TestDatabase.Handle

  beforeAll(async () => {
    db = await TestDatabase.acquirePglite()
  }, 60_000)

  afterAll(() => db?.release())

  it("serves PGlite on a free local port, for one connection", () => {
    expect(db.kind).toBe("pglite")
    expect(db.maxConnections).toBe(1)
    expect(db.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/)
  })

  it("answers select 1, and again after the client reconnects", async () => {
    expect(await query(db, "select 1 as one")).toEqual([{ one: 1 }])
    expect(await query(db, "select 2 as two")).toEqual([{ two: 2 }])
  })

  it("rolls back a failed transaction", async () => {
    await query(db, "create table kept (id int)")
    const failed = Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`insert into kept values (1)`
          yield* sql`select 1 / 0`
        })
      )
    }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(db.url), maxConnections: 1 })))
    await expect(Effect.runPromise(failed)).rejects.toThrow()
    expect(await query(db, "select count(*)::int as n from kept")).toEqual([{ n: 0 }])
  })

  it("is a database of its own, and release closes it", async () => {
    const other = await TestDatabase.acquirePglite()
    expect(other.url).not.toBe(db.url)
    expect(await hasTable(other, "kept")).toBe(false)
    await other.release()
    await expect(query(other, "select 1")).rejects.toThrow()
    await other.release()
  }, 60_000)
})

describe("testcontainers (called directly)", () => {
  it("starts a container, or reports ContainerRuntimeUnavailable when no Docker daemon answers", async () => {
    const result = await TestDatabase.acquireTestcontainers().then(
      (db) => ({ db }),
      (error: unknown) => ({ error })
    )
    if ("error" in result) {
      expect(result.error).toBeInstanceOf(TestDatabase.ContainerRuntimeUnavailable)
    } else {
      try {
        expect(result.db.kind).toBe("testcontainers")
        expect(await query(result.db, "select 1 as one")).toEqual([{ one: 1 }])
      } finally {
        await result.db.release()
      }
    }
  }, 180_000)
})

layer(TestDatabase.pgClientLayer(), { timeout: 120_000 })("pgClientLayer", (it) => {
  it.effect("provides a SqlClient on the layer's database, pooled as it allows", () =>
    Effect.gen(function* () {
      const db = yield* TestDatabase.TestDatabase
      const sql = yield* SqlClient.SqlClient
      const client = yield* PgClient.PgClient
      expect(yield* sql`select 1 as one`).toEqual([{ one: 1 }])
      expect(client.config.url && Redacted.value(client.config.url)).toBe(db.url)
      if (serverUrl !== undefined) expect(db.kind).toBe("postgres")
    })
  )

  it.effect("keeps what earlier tests in the file wrote", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`create table if not exists notes (body text)`
      yield* sql`insert into notes values ('kept')`
      expect(yield* sql`select body from notes`).toEqual([{ body: "kept" }])
    })
  )
})
