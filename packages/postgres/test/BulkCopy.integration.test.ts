import { randomBytes } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SqlClient from "effect/sql/SqlClient"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BulkCopy, EmbeddedPostgres } from "../src/index.ts"

// This package sits below the test helpers: a database of its own on DATABASE_URL's server, else
// the embedded database over TCP.
const serverUrl = process.env.DATABASE_URL === "" ? undefined : process.env.DATABASE_URL
const onPglite = serverUrl === undefined
const scope = Effect.runSync(Scope.make())
let url: string

const onServer = (database: string, statement: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(statement)
    }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(database), maxConnections: 1 })))
  )

beforeAll(async () => {
  if (serverUrl === undefined) {
    url = await Effect.runPromise(
      Scope.provide(scope)(Effect.flatMap(EmbeddedPostgres.make(), (embedded) => embedded.listen(0)))
    )
    return
  }
  const name = `delfos_bulk_${process.pid}_${randomBytes(4).toString("hex")}`
  await onServer(serverUrl, `CREATE DATABASE "${name}"`)
  const database = new URL(serverUrl)
  database.pathname = `/${name}`
  url = database.href
  await Effect.runPromise(
    Scope.addFinalizer(
      scope,
      Effect.promise(() => onServer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))
    )
  )
}, 60_000)
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

const run = <A, E>(effect: Effect.Effect<A, E, BulkCopy.BulkCopy | Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(BulkCopy.layer(url))))

const session = Effect.flatMap(BulkCopy.BulkCopy, (bulk) => bulk.session)

const statement = (sql: string, params: ReadonlyArray<unknown> = []) =>
  run(Effect.flatMap(session, (s) => s.query(sql, params)))

/** The typed error a copy failed with. */
const failureOf = async <A>(effect: Effect.Effect<A, unknown, BulkCopy.BulkCopy | Scope.Scope>) => {
  const exit = await run(Effect.exit(effect))
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  return Cause.squash(exit.cause) as BulkCopy.BulkCopyError
}

const twoTo53 = 2 ** 53

describe("BulkCopy", () => {
  beforeAll(async () => {
    await statement(`CREATE TABLE kinds (
      id integer PRIMARY KEY, at timestamptz, naive timestamp, value double precision,
      small smallint, big bigint, label text, name varchar(40))`)
  })

  it("round-trips every type: NULLs from NaN and null, infinities, sub-millisecond and far instants", async () => {
    // Instants whose fraction of a millisecond is exact in binary: 1 BC, the year 1, 1969, 2024, 9999.
    const instants = [
      Date.UTC(2024, 0, 1),
      Date.UTC(2024, 0, 1, 23, 59, 59, 999) + 0.5,
      -62_167_219_200_000, // 0000-01-01, 1 BC
      -62_135_596_800_000 + 0.25, // 0001-01-01T00:00:00.00025
      Date.UTC(9999, 11, 31, 23, 59, 59, 999) + 0.875,
      -1.5, // 1969-12-31T23:59:59.9985
      Number.NaN
    ]
    const n = instants.length
    const ids = Int32Array.from({ length: n }, (_, i) => i + 1)
    const values = Float64Array.from([1.5, -0.1, Number.NaN, Number.POSITIVE_INFINITY, -1e308, 5e-324, 0])
    const written = await run(
      Effect.flatMap(session, (s) =>
        s.copyIn(
          "kinds",
          BulkCopy.batch(n, [
            BulkCopy.int4("id", ids),
            BulkCopy.timestamptz("at", Float64Array.from(instants)),
            BulkCopy.timestamp("naive", Float64Array.from(instants)),
            BulkCopy.float8("value", values),
            BulkCopy.int2("small", [-32_768, 32_767, null, 0, 1, -1, 7]),
            BulkCopy.int8("big", [twoTo53 - 1, -(twoTo53 - 1), null, 2 ** 32, -(2 ** 32) - 1, 4_294_967_295, 0]),
            BulkCopy.text("label", [
              "WTG01",
              "ção ☃ 𝄞",
              null,
              "",
              "a\tb\nc",
              "'; DROP TABLE kinds; --",
              "x".repeat(5000)
            ]),
            BulkCopy.text("name", "constant")
          ])
        )
      )
    )
    expect(written).toBe(n)
    const rows = await statement(
      `SELECT id, (extract(epoch FROM at) * 1000000)::numeric(30,0)::text AS at_us,
        (extract(epoch FROM naive) * 1000000)::numeric(30,0)::text AS naive_us, at::text AS at_text,
        value::text AS value, small, big::text AS big, label, name
      FROM kinds ORDER BY id`
    )
    // The microseconds since 1970, computed exactly with integers.
    const micros = (ms: number) => {
      if (Number.isNaN(ms)) return null
      const whole = Math.floor(ms)
      return (BigInt(whole) * 1000n + BigInt(Math.round((ms - whole) * 1000))).toString()
    }
    expect(rows.map((row) => row.at_us)).toEqual(instants.map(micros))
    expect(rows.map((row) => row.naive_us)).toEqual(instants.map(micros))
    expect(rows.map((row) => row.at_text)).toEqual([
      "2024-01-01 00:00:00+00",
      "2024-01-01 23:59:59.9995+00",
      "0001-01-01 00:00:00+00 BC",
      "0001-01-01 00:00:00.00025+00",
      "9999-12-31 23:59:59.999875+00",
      "1969-12-31 23:59:59.9985+00",
      null
    ])
    expect(rows.map((row) => row.value)).toEqual(["1.5", "-0.1", null, "Infinity", "-1e+308", "5e-324", "0"])
    expect(rows.map((row) => row.small)).toEqual([-32_768, 32_767, null, 0, 1, -1, 7])
    expect(rows.map((row) => row.big)).toEqual([
      String(twoTo53 - 1),
      String(-(twoTo53 - 1)),
      null,
      String(2 ** 32),
      String(-(2 ** 32) - 1),
      "4294967295",
      "0"
    ])
    expect(rows.map((row) => row.label)).toEqual([
      "WTG01",
      "ção ☃ 𝄞",
      null,
      "",
      "a\tb\nc",
      "'; DROP TABLE kinds; --",
      "x".repeat(5000)
    ])
    expect(new Set(rows.map((row) => row.name))).toEqual(new Set(["constant"]))
  })

  it("copies a stream of batches as one COPY, in UTC sessions", async () => {
    await statement("CREATE TABLE samples (turbine integer, at timestamptz, value double precision)")
    const start = Date.UTC(2024, 0, 1)
    const batches = Stream.range(0, 99).pipe(
      Stream.map((b) => {
        const at = Float64Array.from({ length: 2_000 }, (_, i) => start + (b * 2_000 + i) * 60_000)
        const value = Float64Array.from({ length: 2_000 }, (_, i) => (i % 100 === 0 ? Number.NaN : i))
        return BulkCopy.batch(2_000, [
          BulkCopy.int4("turbine", b),
          BulkCopy.timestamptz("at", at),
          BulkCopy.float8("value", value)
        ])
      })
    )
    expect(await run(BulkCopy.copyIn("samples", batches))).toBe(200_000)
    const [summary] = await statement(
      `SELECT count(*)::int AS n, count(value)::int AS valued, count(DISTINCT turbine)::int AS turbines,
        min(at)::text AS first, max(at)::text AS last, current_setting('TimeZone') AS zone FROM samples`
    )
    expect(summary).toEqual({
      n: 200_000,
      valued: 198_000,
      turbines: 100,
      first: "2024-01-01 00:00:00+00",
      last: new Date(start + 199_999 * 60_000).toISOString().replace("T", " ").replace(".000Z", "+00"),
      zone: "UTC"
    })
  })

  it("commits with the caller's transaction, and rolls back with it", async () => {
    await statement("CREATE TABLE atomic (id integer PRIMARY KEY)")
    const rows = (from: number, count: number) =>
      BulkCopy.batch(count, [
        BulkCopy.int4(
          "id",
          Int32Array.from({ length: count }, (_, i) => from + i)
        )
      ])
    await run(Effect.flatMap(session, (s) => s.transaction(s.copyIn("atomic", rows(0, 100)))))
    const failed = await run(
      Effect.exit(
        Effect.flatMap(session, (s) =>
          s.transaction(
            Effect.gen(function* () {
              yield* s.query("DELETE FROM atomic")
              yield* s.copyIn("atomic", rows(1_000, 100))
              return yield* Effect.fail("the caller changed its mind" as const)
            })
          )
        )
      )
    )
    expect(Exit.isFailure(failed)).toBe(true)
    expect(await statement("SELECT count(*)::int AS n, min(id) AS min FROM atomic")).toEqual([{ n: 100, min: 0 }])
    // Delete then copy, at once: the idempotent replace the fonte's seeding does.
    await run(
      Effect.flatMap(session, (s) =>
        s.transaction(Effect.andThen(s.query("DELETE FROM atomic WHERE id < 50"), s.copyIn("atomic", rows(0, 50))))
      )
    )
    expect(await statement("SELECT count(*)::int AS n FROM atomic")).toEqual([{ n: 100 }])
  })

  it("fails with the server's SQLSTATE on a duplicate key, and copies nothing", async () => {
    await statement("CREATE TABLE unique_ids (id integer PRIMARY KEY)")
    const error = await failureOf(BulkCopy.copyIn("unique_ids", BulkCopy.batch(3, [BulkCopy.int4("id", [1, 2, 1])])))
    expect(error).toMatchObject({ _tag: "BulkCopyError", operation: "copy", code: "23505", table: "unique_ids" })
    expect(await statement("SELECT count(*)::int AS n FROM unique_ids")).toEqual([{ n: 0 }])
    // The pool goes on serving.
    expect(await run(BulkCopy.copyIn("unique_ids", BulkCopy.batch(2, [BulkCopy.int4("id", [1, 2])])))).toBe(2)
  })

  it("refuses values and columns it cannot write before the copy starts", async () => {
    const failure = (table: string, rows: BulkCopy.Batch) => failureOf(BulkCopy.copyIn(table, rows))
    expect(await failure("kinds", BulkCopy.batch(1, [BulkCopy.float8("id", Float64Array.of(1))]))).toMatchObject({
      operation: "encode",
      reason: "column id is integer, not float8"
    })
    expect(await failure("kinds", BulkCopy.batch(1, [BulkCopy.int4("nope", 1)]))).toMatchObject({
      operation: "encode",
      reason: "kinds has no column nope"
    })
    expect(await failure("kinds", BulkCopy.batch(2, [BulkCopy.int4("id", [1, 2.5])]))).toMatchObject({
      operation: "encode",
      reason: "column id, row 1: 2.5 is not an int4"
    })
    expect(await failure("kinds", BulkCopy.batch(3, [BulkCopy.int4("id", [1, 2])]))).toMatchObject({
      operation: "encode",
      reason: "column id has 2 values for 3 rows"
    })
    expect(await failure("no_such_table", BulkCopy.batch(1, [BulkCopy.int4("id", 1)]))).toMatchObject({
      operation: "query",
      code: "42P01",
      table: "no_such_table"
    })
  })

  it("cancels an interrupted copy: nothing written, the pool still serves", async () => {
    await statement("CREATE TABLE interrupted (id integer)")
    const endless = Stream.forever(Stream.succeed(BulkCopy.batch(10_000, [BulkCopy.int4("id", 1)])))
    await run(
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(BulkCopy.copyIn("interrupted", endless))
        yield* Effect.sleep("300 millis")
        yield* Fiber.interrupt(fiber)
      })
    )
    expect(await statement("SELECT count(*)::int AS n FROM interrupted")).toEqual([{ n: 0 }])
  })

  it("names an unreachable database without its password", async () => {
    const exit = await Effect.runPromise(
      Effect.exit(
        BulkCopy.copyIn("t", BulkCopy.batch(1, [BulkCopy.int4("id", 1)])).pipe(
          Effect.provide(BulkCopy.layer("postgres://someone:secret@127.0.0.1:1/nowhere"))
        )
      )
    )
    if (Exit.isSuccess(exit)) throw new Error("expected a failure")
    const error = Cause.squash(exit.cause) as BulkCopy.BulkCopyError
    expect(error.operation).toBe("connect")
    expect(error.message).toContain("postgres://someone@127.0.0.1:1/nowhere")
    expect(error.message).not.toContain("secret")
  })
})

describe.skipIf(!onPglite)("BulkCopy on the embedded database", () => {
  it("inserts from unnest where COPY cannot be had, in one transaction: the same rows", async () => {
    await statement("CREATE TABLE embedded (id integer PRIMARY KEY)")
    const rows = (ids: ReadonlyArray<number>) => BulkCopy.batch(ids.length, [BulkCopy.int4("id", ids)])
    // A failing batch takes the earlier ones with it, as a failed COPY does.
    const error = await failureOf(BulkCopy.copyIn("embedded", Stream.make(rows([1, 2]), rows([3, 1]))))
    expect(error).toMatchObject({ operation: "copy", code: "23505", table: "embedded" })
    expect(await statement("SELECT count(*)::int AS n FROM embedded")).toEqual([{ n: 0 }])
    expect(await run(BulkCopy.copyIn("embedded", Stream.make(rows([1, 2]), rows([3]))))).toBe(3)
    expect(await statement("SELECT count(*)::int AS n FROM embedded")).toEqual([{ n: 3 }])
  })
})
