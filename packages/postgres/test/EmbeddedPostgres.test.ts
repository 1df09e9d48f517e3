import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PgClient } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Reactivity from "effect/reactivity/Reactivity"
import type * as Scope from "effect/Scope"
import * as SqlClient from "effect/sql/SqlClient"
import { afterAll, describe, expect, it } from "vitest"
import { EmbeddedPostgres } from "../src/index.ts"

const scratch = mkdtempSync(join(tmpdir(), "delfos-embedded-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** Runs `program` with an embedded database opened for it. */
const withEmbedded = <A>(
  options: EmbeddedPostgres.Options,
  program: (
    embedded: EmbeddedPostgres.EmbeddedPostgres
  ) => Effect.Effect<A, unknown, Scope.Scope | Reactivity.Reactivity>
): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(Effect.flatMap(EmbeddedPostgres.make(options), program)).pipe(Effect.provide(Reactivity.layer))
  )

/** A pool of `connections` on the embedded database, as a SqlClient. */
const pool = (embedded: EmbeddedPostgres.EmbeddedPostgres, connections: number) =>
  PgClient.make({ ...EmbeddedPostgres.clientConfig(embedded), maxConnections: connections })

describe("EmbeddedPostgres", () => {
  it("answers many concurrent statements from one pool, each with its own result", async () => {
    const results = await withEmbedded({}, (embedded) =>
      Effect.gen(function* () {
        const sql = yield* pool(embedded, 1)
        return yield* Effect.forEach(
          Array.from({ length: 50 }, (_, i) => i),
          (i) => sql<{ n: number }>`SELECT ${i}::int * 2 AS n`,
          { concurrency: "unbounded" }
        )
      })
    )
    expect(results.map((rows) => rows[0]!.n)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2))
  })

  it("runs the transactions of several connections one after another, never interleaved", async () => {
    const log = await withEmbedded({}, (embedded) =>
      Effect.gen(function* () {
        const a = yield* pool(embedded, 3)
        const b = yield* pool(embedded, 3)
        yield* a`CREATE TABLE log (seq serial PRIMARY KEY, tx int, step text)`
        const transaction = (sql: typeof a, tx: number) =>
          sql.withTransaction(
            Effect.gen(function* () {
              yield* sql`INSERT INTO log (tx, step) VALUES (${tx}, 'begin')`
              // Give the scheduler every chance to run another connection's statements here.
              yield* Effect.yieldNow
              yield* sql`SELECT count(*) FROM log`
              yield* Effect.sleep("1 millis")
              yield* sql`INSERT INTO log (tx, step) VALUES (${tx}, 'commit')`
            })
          )
        yield* Effect.forEach(
          Array.from({ length: 12 }, (_, tx) => tx),
          (tx) => transaction(tx % 2 === 0 ? a : b, tx),
          { concurrency: "unbounded" }
        )
        return yield* a<{ tx: number; step: string }>`SELECT tx, step FROM log ORDER BY seq`
      })
    )
    expect(log).toHaveLength(24)
    for (let i = 0; i < log.length; i += 2) {
      expect(log[i]).toEqual({ tx: log[i]!.tx, step: "begin" })
      expect(log[i + 1]).toEqual({ tx: log[i]!.tx, step: "commit" })
    }
    expect(new Set(log.map((row) => row.tx)).size).toBe(12)
  })

  it("keeps one connection's failed statement from disturbing another's", async () => {
    const [failed, fine] = await withEmbedded({}, (embedded) =>
      Effect.gen(function* () {
        const a = yield* pool(embedded, 1)
        const b = yield* pool(embedded, 1)
        return yield* Effect.all([Effect.exit(a`SELECT * FROM no_such_table`), b<{ n: number }>`SELECT 41 + 1 AS n`], {
          concurrency: "unbounded"
        })
      })
    )
    expect(Exit.isFailure(failed)).toBe(true)
    expect(fine[0]!.n).toBe(42)
  })

  it("rolls back the open transaction of a connection that goes away, and serves the others", async () => {
    const rows = await withEmbedded({}, (embedded) =>
      Effect.gen(function* () {
        const sql = yield* pool(embedded, 1)
        yield* sql`CREATE TABLE t (v int)`
        // A bare client: it logs in, opens a transaction, writes, and vanishes without a word.
        yield* Effect.promise(
          () =>
            new Promise<void>((resolve) => {
              const stream = embedded.connect()
              let answers = 0
              stream.on("data", (data: Buffer) => {
                // Each ReadyForQuery ('Z') ends an answer: the login's, then the query's.
                answers += [...data].filter((byte, i) => byte === 0x5a && data[i + 4] === 5).length
                if (answers === 1) stream.write(query("BEGIN; INSERT INTO t VALUES (1)"))
                if (answers === 2) {
                  stream.destroy()
                  resolve()
                }
              })
              stream.write(startup())
            })
        )
        yield* sql`INSERT INTO t VALUES (2)`
        return yield* sql<{ v: number }>`SELECT v FROM t ORDER BY v`
      })
    )
    expect(rows).toEqual([{ v: 2 }])
  })

  it("serves other processes over TCP, a session each, alongside this one", async () => {
    const answer = await withEmbedded({}, (embedded) =>
      Effect.gen(function* () {
        const url = yield* embedded.listen(0)
        const sql = yield* pool(embedded, 1)
        yield* sql`CREATE TABLE shared (v text)`
        yield* sql`INSERT INTO shared VALUES ('from this process')`
        const child = yield* Effect.promise(() =>
          runNode(
            `import { PgClient } from "@effect/sql-pg"
             import * as Effect from "effect/Effect"
             import * as Reactivity from "effect/reactivity/Reactivity"
             import * as Redacted from "effect/Redacted"
             const program = Effect.gen(function* () {
               const sql = yield* PgClient.make({ url: Redacted.make(process.argv[1]), maxConnections: 2 })
               yield* sql\`INSERT INTO shared VALUES ('from the child')\`
               const rows = yield* sql\`SELECT v FROM shared ORDER BY v\`
               console.log(JSON.stringify(rows.map((row) => row.v)))
             })
             await Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(Reactivity.layer)))`,
            [url]
          )
        )
        return { child, url }
      })
    )
    expect(answer.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/)
    expect(answer.child.stderr).toBe("")
    expect(answer.child.code).toBe(0)
    expect(JSON.parse(answer.child.stdout)).toEqual(["from the child", "from this process"])
  })

  it("starts a new data directory from the template, keeps it, and lets a second process in as a guest", async () => {
    const dataDir = join(scratch, "alvo")
    await withEmbedded({ dataDir }, (embedded) =>
      Effect.gen(function* () {
        expect(embedded.role).toBe("host")
        const sql = yield* pool(embedded, 1)
        yield* sql`CREATE TABLE kept (v int)`
        yield* sql`INSERT INTO kept VALUES (7)`
        // Another process opens the same directory while this one holds it: it comes in as a guest.
        const child = yield* Effect.promise(() =>
          runNode(
            `import * as Effect from "effect/Effect"
             import * as Reactivity from "effect/reactivity/Reactivity"
             import { PgClient } from "@effect/sql-pg"
             import { EmbeddedPostgres } from "@delfos/postgres"
             const program = Effect.gen(function* () {
               const embedded = yield* EmbeddedPostgres.make({ dataDir: process.argv[1] })
               const sql = yield* PgClient.make(EmbeddedPostgres.clientConfig(embedded))
               yield* sql\`INSERT INTO kept VALUES (8)\`
               console.log(embedded.role)
             })
             await Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(Reactivity.layer)))`,
            [dataDir]
          )
        )
        expect(child.stderr).toBe("")
        expect(child.stdout.trim()).toBe("guest")
      })
    )
    expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(true)
    expect(existsSync(join(dataDir, "delfos.lock"))).toBe(false)
    const rows = await withEmbedded({ dataDir }, (embedded) =>
      Effect.flatMap(pool(embedded, 1), (sql) => sql<{ v: number }>`SELECT v FROM kept ORDER BY v`)
    )
    expect(rows).toEqual([{ v: 7 }, { v: 8 }])
  })

  it("answers COPY … FROM STDIN with an error (SQLSTATE 0A000) instead of letting PGlite abort the process", async () => {
    const [simple, extended, after] = await withEmbedded({}, (embedded) =>
      Effect.gen(function* () {
        const sql = yield* pool(embedded, 1)
        yield* sql`CREATE TABLE copied (v int)`
        // The simple protocol (what COPY clients send), in a transaction, then the extended one.
        const simple = yield* Effect.exit(
          sql.withTransaction(sql.unsafe("SELECT 1; COPY copied FROM STDIN (FORMAT binary)").unprepared)
        )
        const extended = yield* Effect.exit(sql.unsafe("copy copied (v) from stdin"))
        return [simple, extended, yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM copied`] as const
      })
    )
    for (const exit of [simple, extended]) {
      expect(Exit.isFailure(exit)).toBe(true)
      expect(JSON.stringify(exit)).toContain(`"code":"0A000"`)
    }
    expect(after).toEqual([{ n: 0 }])
  })

  it("gives every session TimeZone UTC", async () => {
    const rows = await Effect.runPromise(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ TimeZone: string }>`SHOW TimeZone`
      }).pipe(Effect.provide(Layer.fresh(EmbeddedPostgres.layerClient())))
    )
    expect(rows[0]).toEqual({ TimeZone: "UTC" })
  })
})

/** Runs a module as a child Node process from this package's directory. */
const runNode = (source: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", source, ...args], {
      cwd: join(import.meta.dirname, ".."),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => {
      stdout += chunk
    })
    child.stderr.on("data", (chunk) => {
      stderr += chunk
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

/** A protocol 3.0 startup message for user and database postgres. */
const startup = (): Buffer => {
  const body = Buffer.from("user\0postgres\0database\0postgres\0\0")
  const out = Buffer.alloc(8 + body.length)
  out.writeInt32BE(out.length, 0)
  out.writeInt32BE(196_608, 4)
  body.copy(out, 8)
  return out
}

/** A simple-protocol Query message. */
const query = (text: string): Buffer => {
  const body = Buffer.from(`${text}\0`)
  const out = Buffer.alloc(5 + body.length)
  out.write("Q", 0)
  out.writeInt32BE(4 + body.length, 1)
  body.copy(out, 5)
  return out
}
