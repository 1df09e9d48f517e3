import { Signal } from "@delfos/etl"
import { TestDatabase } from "@delfos/test-utils"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Api, Generator } from "../src/index.ts"
import { pageSize, SensorStore } from "../src/SensorStore.ts"

let database: Awaited<ReturnType<typeof TestDatabase.acquire>>

beforeAll(async () => {
  database = await TestDatabase.acquire()
}, 60_000)
afterAll(() => database?.release())

const run = <A, E>(effect: Effect.Effect<A, E, SensorStore>) =>
  Effect.runPromise(
    effect.pipe(
      Effect.provide(
        SensorStore.layer.pipe(
          Layer.provide(PgClient.layer({ url: Redacted.make(database.url), maxConnections: database.maxConnections }))
        )
      )
    )
  )

describe("SensorStore", () => {
  it("migrates from nothing, and again harmlessly; upserts instead of doubling", async () => {
    const start = Date.UTC(2024, 0, 1)
    const frame = Generator.generate({ start, days: 2 })
    expect(await run(Effect.flatMap(SensorStore, (store) => store.upsert(frame)))).toBe(2880)
    expect(await run(Effect.flatMap(SensorStore, (store) => Effect.andThen(store.upsert(frame), store.count)))).toBe(
      2880
    )
  })

  it("streams a range a page at a time, never more than a page", async () => {
    const start = Date.UTC(2024, 1, 1)
    await run(Effect.flatMap(SensorStore, (store) => store.upsert(Generator.generate({ start, days: 15 }))))
    const pages = await run(
      Effect.flatMap(SensorStore, (store) =>
        Stream.runCollect(store.range(start, start + 15 * 86_400_000 - 1).pipe(Stream.map((rows) => rows.length)))
      )
    )
    expect(pages.reduce((a, b) => a + b, 0)).toBe(15 * 1440)
    expect(Math.max(...pages)).toBe(pageSize)
    expect(pages.length).toBe(Math.ceil((15 * 1440) / pageSize))
  })
})

describe("SensorStore: one list of variables", () => {
  it("the table's value columns are Signal.knownVariables, in order, as is the API's row", async () => {
    const columns = await TestDatabase.query<{ name: string }>(
      database.url,
      "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'data' ORDER BY ordinal_position"
    )
    expect(columns.map((column) => column.name)).toEqual(["timestamp", ...Signal.knownVariables])
    expect(Object.keys(Api.SensorRow.fields)).toEqual(["timestamp", ...Signal.knownVariables])
    expect(Object.keys(Api.SensorInput.fields)).toEqual(["timestamp", ...Signal.knownVariables])
  })
})
