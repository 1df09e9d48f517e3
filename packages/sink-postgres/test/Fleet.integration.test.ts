/**
 * A farm in the alvo schema: each turbine's signals are its own (`signal.asset_id`), `data` stays
 * the reference's (timestamp, signal_id, value), a day of many turbines loads in one transaction,
 * and the questions analysts ask are plain indexed SQL.
 */
import { Asset, MemorySource, Partition, Pipeline, SampleFrame } from "@delfos/etl"
import { TestDatabase } from "@delfos/test-utils"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import { Migrations, PostgresSink } from "../src/index.ts"
import { expectedRows, mapFrame, minuteFrame } from "./helpers.ts"

const turbines = ["WTG01", "WTG02", "WTG03", "WTG10"].map((id) => Asset.AssetId.make(id))
// Each turbine its own samples: the same generator, another seed.
const frames = turbines.map((asset, i) => SampleFrame.withAsset(minuteFrame("2024-03-09", 3, i + 2), asset))
const days = ["2024-03-09", "2024-03-10", "2024-03-11"].map((day) => Partition.makeUnsafe(day))

const runFleet = (
  input: ReadonlyArray<SampleFrame.SampleFrame>,
  partitions: ReadonlyArray<Partition.Partition>,
  batchSize = 25
) =>
  Pipeline.runAll(partitions, { name: "fleet", batchSize }).pipe(
    Effect.provide(Layer.merge(MemorySource.layer(input, { chunkSize: 500 }), PostgresSink.layerFromClient()))
  )

/** The stored rows of one turbine (or of the default series), as the core's tidy rows sort them. */
const storedOf = (asset: string | undefined) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ timestamp: Date; signal: string; value: number }>`
      SELECT d.timestamp, s.name AS signal, d.value
      FROM data AS d JOIN signal AS s ON s.id = d.signal_id LEFT JOIN asset AS a ON a.id = s.asset_id
      WHERE a.name IS NOT DISTINCT FROM ${asset ?? null}
      ORDER BY d.timestamp, s.name COLLATE "C"`
    return rows.map((row) => ({ timestamp: row.timestamp.toISOString(), signal: row.signal, value: row.value }))
  })

const reset = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* Migrations.migrate
  yield* sql`TRUNCATE data, signal, asset, etl_run, quality RESTART IDENTITY CASCADE`
})

layer(TestDatabase.pgClientLayer(), { timeout: "3 minutes", excludeTestServices: true })(
  "PostgresSink, a farm",
  (it) => {
    it.effect("a day of four turbines: each one's rows under its own signals, the reports per turbine-day", () =>
      Effect.gen(function* () {
        yield* reset
        const partitions = Partition.forAssets([days[1]!], turbines)
        const reports = yield* runFleet(frames, partitions)
        expect(reports.map((report) => [report.asset, report.status])).toEqual(
          turbines.map((asset) => [asset, "succeeded"])
        )
        for (const [i, asset] of turbines.entries()) {
          const expected = expectedRows(frames[i]!, partitions[i]!)
          expect(yield* storedOf(asset)).toEqual(
            expected.map(({ signal, timestamp, value }) => ({ timestamp, signal, value }))
          )
        }
        const sql = yield* SqlClient.SqlClient
        const signals = yield* sql<{ assets: number; names: number; total: number }>`
        SELECT count(DISTINCT asset_id)::int AS assets, count(DISTINCT name)::int AS names, count(*)::int AS total FROM signal`
        expect(signals[0]).toEqual({ assets: 4, names: 8, total: 32 })
      })
    )

    it.effect("one turbine without an asset writes exactly the reference's rows: the names, no asset", () =>
      Effect.gen(function* () {
        yield* reset
        const single = minuteFrame("2024-03-09", 3, 7)
        const [report] = yield* runFleet([single], [days[1]!])
        expect(report!.status).toBe("succeeded")
        expect(yield* storedOf(undefined)).toEqual(
          expectedRows(single, days[1]!).map(({ signal, timestamp, value }) => ({ timestamp, signal, value }))
        )
        const sql = yield* SqlClient.SqlClient
        // The reference's own query: signal names joined to data, no asset anywhere.
        const names = yield* sql<{
          name: string
        }>`SELECT DISTINCT s.name FROM data d JOIN signal s ON s.id = d.signal_id ORDER BY 1`
        expect(names.map((row) => row.name)).toEqual([
          "power_max",
          "power_mean",
          "power_min",
          "power_std",
          "wind_speed_max",
          "wind_speed_mean",
          "wind_speed_min",
          "wind_speed_std"
        ])
        expect(yield* sql`SELECT 1 FROM signal WHERE asset_id IS NOT NULL`).toEqual([])
      })
    )

    it.effect("a re-run of a day changed for one turbine touches that turbine alone, stale rows removed", () =>
      Effect.gen(function* () {
        yield* reset
        const partitions = Partition.forAssets(days, turbines)
        yield* runFleet(frames, partitions, 3)
        const before = yield* Effect.forEach(turbines, storedOf)
        // WTG02's 10:00 window on 2024-03-10 loses its samples; everything else is the same.
        const start = Partition.range(days[1]!).start + 10 * 3_600_000
        const changed = frames.map((frame) =>
          frame.asset === "WTG02"
            ? SampleFrame.withAsset(
                mapFrame(frame, (t, _variable, value) => (t >= start && t < start + 600_000 ? Number.NaN : value)),
                frame.asset
              )
            : frame
        )
        const reports = yield* runFleet(changed, partitions, 3)
        expect(
          reports.filter((report) => report.rowsDeleted > 0).map((report) => `${report.day} ${report.asset}`)
        ).toEqual(["2024-03-10 WTG02"])
        expect(reports.find((report) => report.asset === "WTG02" && report.day === "2024-03-10")!.rowsDeleted).toBe(8)
        const after = yield* Effect.forEach(turbines, storedOf)
        expect(after[0]).toEqual(before[0])
        expect(after[2]).toEqual(before[2])
        expect(after[3]).toEqual(before[3])
        expect(after[1]!.length).toBe(before[1]!.length - 8)
      })
    )

    it.effect(
      "mean power per turbine per 10 minutes, and one turbine's signal over days: plain SQL on the indexes",
      () =>
        Effect.gen(function* () {
          yield* reset
          yield* runFleet(frames, Partition.forAssets(days, turbines))
          const sql = yield* SqlClient.SqlClient
          const perTurbine = sql<{ turbine: string; windows: number }>`
        SELECT a.name AS turbine, count(*)::int AS windows
        FROM data AS d JOIN signal AS s ON s.id = d.signal_id JOIN asset AS a ON a.id = s.asset_id
        WHERE s.name = 'power_mean' AND d.timestamp >= '2024-03-10T00:00:00Z' AND d.timestamp < '2024-03-11T00:00:00Z'
        GROUP BY a.name ORDER BY a.name`
          expect(yield* perTurbine).toEqual(turbines.map((turbine) => ({ turbine, windows: 144 })))
          const series = sql<{ n: number }>`
        SELECT count(*)::int AS n FROM data AS d JOIN signal AS s ON s.id = d.signal_id JOIN asset AS a ON a.id = s.asset_id
        WHERE a.name = 'WTG03' AND s.name = 'wind_speed_mean'
          AND d.timestamp >= '2024-03-09T00:00:00Z' AND d.timestamp < '2024-03-12T00:00:00Z'`
          expect(yield* series).toEqual([{ n: 3 * 144 }])
          // Both read data through its primary key (signal_id, timestamp), a range per signal, with
          // sequential scans discouraged as a planner would on a table of millions of rows.
          yield* sql`SET enable_seqscan = off`
          for (const query of [perTurbine, series]) {
            const plan = yield* sql.unsafe<{ "QUERY PLAN": string }>(
              `EXPLAIN ${query.compile()[0]}`,
              query.compile()[1]
            )
            expect(plan.map((row) => row["QUERY PLAN"]).join("\n")).toMatch(
              /Index (Only )?Scan using data_pkey on data/
            )
          }
          yield* sql`RESET enable_seqscan`
        })
    )

    it.effect("an existing target migrates in place: its rows stay, its signals become the default series'", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`DROP TABLE IF EXISTS data, signal, asset, quality, etl_run, delfos_migrations CASCADE`
        const before = Object.fromEntries(
          Object.entries(Migrations.migrations).filter(([name]) => name < "0008")
        ) as Record<string, (typeof Migrations.migrations)[keyof typeof Migrations.migrations]>
        yield* Migrator.make({})({ loader: Migrator.fromRecord(before), table: Migrations.table })
        yield* sql`INSERT INTO signal (name) VALUES ('power_mean'), ('wind_speed_mean')`
        yield* sql`INSERT INTO data (timestamp, signal_id, value)
        SELECT '2024-01-01T00:00:00Z'::timestamptz + i * interval '10 minutes', s.id, i
        FROM generate_series(0, 143) AS i CROSS JOIN signal AS s`
        expect(yield* Migrations.migrate).toEqual([
          [8, "assets"],
          [9, "etl_run_asset"],
          [10, "quality"],
          [11, "data_signal_guard"]
        ])
        expect(yield* sql`SELECT count(*)::int AS n FROM data`).toEqual([{ n: 288 }])
        expect(yield* sql`SELECT name FROM signal WHERE asset_id IS NULL ORDER BY name`).toEqual([
          { name: "power_mean" },
          { name: "wind_speed_mean" }
        ])
        // A default-series name stays unique among the default series; an asset may reuse it.
        const duplicate = yield* Effect.flip(sql`INSERT INTO signal (name) VALUES ('power_mean')`)
        expect(duplicate.reason._tag).toBe("UniqueViolation")
        yield* sql`INSERT INTO asset (name) VALUES ('WTG01')`
        yield* sql`INSERT INTO signal (name, asset_id) SELECT 'power_mean', id FROM asset WHERE name = 'WTG01'`
      })
    )
  }
)
