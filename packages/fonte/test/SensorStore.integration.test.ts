import { SampleFrame, Signal } from "@delfos/etl"
import { BulkCopy, Connection } from "@delfos/postgres"
import { TestDatabase } from "@delfos/test-utils"
import { PgClient, PgTypes } from "@effect/sql-pg"
import { Effect, Layer, Redacted, Result, Stream } from "effect"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Api, Generator, Seeding } from "../src/index.ts"
import { migrations, pageSize, SensorStore } from "../src/SensorStore.ts"

let database: Awaited<ReturnType<typeof TestDatabase.acquire>>

beforeAll(async () => {
  database = await TestDatabase.acquire()
}, 60_000)
afterAll(() => database?.release())

const client = () =>
  PgClient.layer({
    url: Redacted.make(database.url),
    maxConnections: database.maxConnections,
    startupParameters: Connection.sessionParameters
  })

// The store as the server builds it: with BulkCopy on a server (it copies), alone on PGlite.
const storeLayer = () =>
  SensorStore.layer.pipe(
    Layer.provide(Layer.merge(client(), BulkCopy.layer(database.url, { maxConnections: database.maxConnections })))
  )

const run = <A, E>(effect: Effect.Effect<A, E, SensorStore>) =>
  Effect.runPromise(effect.pipe(Effect.provide(storeLayer())))

const day = 86_400_000

/** Seeds turbines `1..count` for `days` days, as populate does. */
const seed = (count: number, start: number, days: number, seedValue = 42) =>
  Seeding.seed({ start, days, seed: seedValue, turbines: count })

/** Every row a turbine has in `[start, end]`, through `range`. */
const rowsOf = (turbineId: string, start: number, end: number) =>
  Effect.gen(function* () {
    const store = yield* SensorStore
    const turbine = (yield* store.turbines).find((t) => t.turbineId === turbineId)!
    const pages = yield* Stream.runCollect(store.range([turbine], start, end))
    return pages.flatMap((page) => page.rows.map((row) => [(row[0] as Date).getTime(), ...row.slice(1)]))
  })

describe("SensorStore", () => {
  it("migrates from nothing, and again harmlessly; seeds by replacing, never doubling", async () => {
    const start = Date.UTC(2024, 0, 1)
    expect(await run(seed(1, start, 2))).toBe(2880)
    expect(
      await run(
        Effect.andThen(
          seed(1, start, 2),
          Effect.flatMap(SensorStore, (store) => store.count)
        )
      )
    ).toBe(2880)
    const writes = await run(Effect.map(SensorStore, (store) => store.writes))
    expect(writes).toBe(database.kind === "pglite" ? "unnest" : "copy")
  })

  it("seeds a farm idempotently: again, with another seed, and back, leaves exactly the generator's rows", async () => {
    const start = Date.UTC(2024, 5, 1)
    const expected = (seedValue: number) => {
      const farm = Generator.farm(seedValue)
      let rows = 0
      for (let n = 1; n <= 10; n++) for (let d = 0; d < 3; d++) rows += farm.turbineDay(n, start + d * day).length
      return rows
    }
    const inRange = Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.map(
        sql<{
          n: number
        }>`SELECT count(*)::int AS n FROM data WHERE timestamp >= ${new Date(start)} AND timestamp < ${new Date(start + 3 * day)}`,
        (rows) => rows[0]!.n
      )
    )
    const count = () => Effect.runPromise(inRange.pipe(Effect.provide(client())))
    // Downtimes differ between seeds: a replace leaves no row of the other seed's in them.
    expect(await run(seed(10, start, 3, 42))).toBe(expected(42))
    expect(await run(seed(10, start, 3, 42))).toBe(expected(42))
    expect(await count()).toBe(expected(42))
    const before = await run(rowsOf("WTG09", start, start + 3 * day))
    expect(await run(seed(10, start, 3, 7))).toBe(expected(7))
    expect(await count()).toBe(expected(7))
    await run(seed(10, start, 3, 42))
    expect(await count()).toBe(expected(42))
    expect(await run(rowsOf("WTG09", start, start + 3 * day))).toEqual(before)
    // Other turbines and days stay as they were: a replace touches only its turbines and range.
    await run(seed(2, start + day, 1, 7))
    expect(await run(rowsOf("WTG09", start, start + 3 * day))).toEqual(before)
  })

  it("stores what the generator made, to the millisecond", async () => {
    const start = Date.UTC(2024, 6, 1)
    await run(seed(4, start, 1, 3))
    const frame = Generator.farm(3).turbineDay(4, start)
    const stored = await run(rowsOf("WTG04", start, start + day))
    expect(stored.map((row) => row[0])).toEqual([...frame.timestamps])
    Signal.knownVariables.forEach((name, c) => {
      expect(stored.map((row) => row[c + 1] ?? Number.NaN)).toEqual([...frame.columns[name]!])
    })
  })

  it("streams a range a page at a time, turbine by turbine, never more than a page", async () => {
    const start = Date.UTC(2024, 1, 1)
    await run(seed(2, start, 15))
    const pages = await run(
      Effect.gen(function* () {
        const store = yield* SensorStore
        const farm = (yield* store.turbines).filter((t) => t.turbineId === "WTG02" || t.turbineId === "WTG01")
        return yield* Stream.runCollect(
          store
            .range([farm[1]!, farm[0]!], start, start + 15 * day - 1)
            .pipe(Stream.map((page) => [page.turbine.turbineId, page.rows.length] as const))
        )
      })
    )
    const wtg02 = Generator.generate({ start, days: 15, seed: 42, turbine: 2 }).length
    expect(pages.filter(([id]) => id === "WTG02").reduce((a, [, n]) => a + n, 0)).toBe(wtg02)
    expect(pages.filter(([id]) => id === "WTG01").reduce((a, [, n]) => a + n, 0)).toBe(15 * 1440)
    // The order asked for: WTG02's pages, then WTG01's.
    expect(pages.map(([id]) => id)).toEqual([...pages.map(([id]) => id)].sort().reverse())
    expect(Math.max(...pages.map(([, n]) => n))).toBe(pageSize)
  })

  it("upserts a posted sample into its turbine, adding the turbine", async () => {
    const t = Date.UTC(2023, 5, 1, 12)
    const frame = (power: number) => SampleFrame.make(Float64Array.of(t), { power: Float64Array.of(power) })
    const rows = await run(
      Effect.gen(function* () {
        const store = yield* SensorStore
        yield* store.upsert(frame(1), "NEW-1")
        yield* store.upsert(frame(2), "NEW-1")
        return yield* rowsOf("NEW-1", t, t)
      })
    )
    expect(rows).toEqual([[t, null, 2, null]])
    const turbines = await run(Effect.flatMap(SensorStore, (store) => store.turbines))
    expect(turbines[0]).toMatchObject({ turbineId: "WTG01", ratedPower: 5000, x: 0, y: 0 })
    expect(turbines.find((turbine) => turbine.turbineId === "NEW-1")).toMatchObject({ ratedPower: null })
  })
})

describe("SensorStore: one list of variables", () => {
  it("the table's value columns are Signal.knownVariables, in order, as is the API's row; then the turbine", async () => {
    const columns = await TestDatabase.query<{ name: string }>(
      database.url,
      "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'data' ORDER BY ordinal_position"
    )
    expect(columns.map((column) => column.name)).toEqual(["timestamp", ...Signal.knownVariables, "turbine"])
    expect(Object.keys(Api.SensorRow.fields)).toEqual(["timestamp", ...Signal.knownVariables])
    expect(Object.keys(Api.TurbineSensorRow.fields)).toEqual(["turbine_id", "timestamp", ...Signal.knownVariables])
    expect(Object.keys(Api.SensorInput.fields)).toEqual(["timestamp", ...Signal.knownVariables, "turbine_id"])
  })
})

describe("SensorStore: a fonte database from before farms", () => {
  let old: Awaited<ReturnType<typeof TestDatabase.acquire>>
  beforeAll(async () => {
    old = await TestDatabase.acquire()
  }, 60_000)
  afterAll(() => old?.release())

  it("is migrated in place: every row kept, as WTG01's, keyed by turbine and time", async () => {
    const layer = PgClient.layer({
      url: Redacted.make(old.url),
      maxConnections: old.maxConnections,
      startupParameters: Connection.sessionParameters
    })
    const start = Date.UTC(2023, 0, 1)
    const frame = Generator.generate({ start, days: 3, seed: 42 })
    // The schema and the rows as the single-turbine fonte wrote them (migration 0001, its upsert).
    await Effect.runPromise(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* Migrator.make({})({
          loader: Migrator.fromRecord({ "0001_create_data": migrations["0001_create_data"] }),
          table: "fonte_migrations"
        })
        const value = (values: Float64Array) =>
          Result.getOrThrow(
            PgTypes.array(
              [...values].map((v) => (Number.isNaN(v) ? null : v)),
              PgTypes.OID.float8
            )
          )
        yield* sql`INSERT INTO data (timestamp, wind_speed, power, ambient_temperature)
          SELECT to_timestamp(t / 1000.0), w, p, a
          FROM unnest(${value(frame.timestamps)}, ${value(frame.columns.wind_speed!)},
            ${value(frame.columns.power!)}, ${value(frame.columns.ambient_temperature!)}) AS u(t, w, p, a)`
      }).pipe(Effect.provide(layer))
    )
    const [migrated, kept] = await Effect.runPromise(
      Effect.gen(function* () {
        const store = yield* SensorStore
        const turbines = yield* store.turbines
        const pages = yield* Stream.runCollect(store.range(turbines.slice(0, 1), start, start + 3 * day))
        return [turbines, pages.flatMap((page) => page.rows)] as const
      }).pipe(Effect.provide(SensorStore.layer.pipe(Layer.provide(layer))))
    )
    expect(migrated.map((turbine) => turbine.turbineId)).toEqual(["WTG01"])
    expect(kept.length).toBe(3 * 1440)
    expect(kept.map((row) => (row[0] as Date).getTime())).toEqual([...frame.timestamps])
    expect(kept.map((row) => row[2] ?? Number.NaN)).toEqual([...frame.columns.power!])
    const key = await TestDatabase.query<{ definition: string }>(
      old.url,
      "SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = 'data'::regclass AND contype = 'p'"
    )
    expect(key).toEqual([{ definition: 'PRIMARY KEY (turbine, "timestamp")' }])
    const migrations_ = await TestDatabase.query<{ name: string }>(
      old.url,
      "SELECT name FROM fonte_migrations ORDER BY migration_id"
    )
    expect(migrations_.map((row) => row.name)).toEqual(["create_data", "turbines"])
  })
})
