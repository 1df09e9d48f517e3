import { Connection } from "@delfos/postgres"
import { TestDatabase } from "@delfos/test-utils"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import { Migrations } from "../src/index.ts"

layer(TestDatabase.pgClientLayer(), { timeout: "2 minutes", excludeTestServices: true })("Migrations", (it) => {
  it.effect("create the schema from nothing, then re-run harmlessly, also two at once", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const tables = sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = 'public' ORDER BY table_name`
      expect(yield* tables).toEqual([])

      expect(yield* Migrations.migrate).toEqual([
        [1, "signal_and_data"],
        [2, "etl_run"],
        [3, "etl_run_runner"],
        [4, "etl_run_empty"],
        [5, "etl_run_heartbeat"],
        [6, "drop_etl_worker"],
        [7, "etl_schedule"],
        [8, "assets"],
        [9, "etl_run_asset"],
        [10, "quality"],
        [11, "data_signal_guard"]
      ])
      expect((yield* tables).map((table) => table.name)).toEqual([
        "asset",
        "data",
        "delfos_migrations",
        "etl_run",
        "etl_schedule",
        "quality",
        "signal"
      ])
      expect(yield* Migrations.migrate).toEqual([])
      const [first, second] = yield* Effect.all([Migrations.migrate, Migrations.migrate], { concurrency: 2 })
      expect([...first, ...second]).toEqual([])

      // Even with its record of applied migrations lost, each migration re-applies cleanly.
      yield* sql`DROP TABLE delfos_migrations`
      expect(yield* Migrations.migrate).toHaveLength(Object.keys(Migrations.migrations).length)
    })
  )

  it.effect("etl_run: `empty` is a status; older rows get their start as heartbeat, new ones now()", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`DROP TABLE IF EXISTS data, signal, asset, quality, etl_run, etl_schedule, delfos_migrations CASCADE`
      // A database of the version before: the first three migrations, and a run left `running`.
      const before = Object.fromEntries(Object.entries(Migrations.migrations).slice(0, 3))
      yield* Migrator.make({})({ loader: Migrator.fromRecord(before), table: Migrations.table })
      yield* sql`INSERT INTO etl_run (pipeline, partition_day, status, attempt, started_at, runner)
        VALUES ('old', '2024-01-01', 'running', 1, '2024-01-02T03:04:05Z', 'gone:1')`
      const empty = sql`INSERT INTO etl_run (pipeline, partition_day, status, attempt) VALUES ('old', '2024-01-02', 'empty', 1)`
      expect((yield* Effect.flip(empty)).reason._tag).toBe("ConstraintError")

      expect(yield* Migrations.migrate).toEqual([
        [4, "etl_run_empty"],
        [5, "etl_run_heartbeat"],
        [6, "drop_etl_worker"],
        [7, "etl_schedule"],
        [8, "assets"],
        [9, "etl_run_asset"],
        [10, "quality"],
        [11, "data_signal_guard"]
      ])
      yield* empty
      const bad = sql`INSERT INTO etl_run (pipeline, partition_day, status, attempt) VALUES ('old', '2024-01-03', 'done', 1)`
      expect((yield* Effect.flip(bad)).reason._tag).toBe("ConstraintError")
      const rows = yield* sql<{ day: string; status: string; heartbeat: Date; started: Date }>`
        SELECT partition_day::text AS day, status, heartbeat_at AS heartbeat, started_at AS started
        FROM etl_run ORDER BY partition_day`
      expect(rows.map((row) => [row.day, row.status])).toEqual([
        ["2024-01-01", "running"],
        ["2024-01-02", "empty"]
      ])
      expect(rows[0]!.heartbeat.toISOString()).toBe("2024-01-02T03:04:05.000Z")
      expect(rows[1]!.heartbeat.getTime()).toBe(rows[1]!.started.getTime())
      const nullable = yield* sql<{ nullable: string }>`SELECT is_nullable AS nullable FROM information_schema.columns
        WHERE table_name = 'etl_run' AND column_name = 'heartbeat_at'`
      expect(nullable).toEqual([{ nullable: "NO" }])
    })
  )

  it.effect("etl_worker, which older workers made outside the migrations, is dropped; etl_schedule is made", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`DROP TABLE IF EXISTS data, signal, asset, quality, etl_run, etl_schedule, delfos_migrations CASCADE`
      const before = Object.fromEntries(Object.entries(Migrations.migrations).slice(0, 5))
      yield* Migrator.make({})({ loader: Migrator.fromRecord(before), table: Migrations.table })
      // As @delfos/etl-worker 0.1 created it.
      yield* sql`CREATE TABLE etl_worker (id text PRIMARY KEY, host text NOT NULL, pid integer NOT NULL,
        concurrency integer NOT NULL, started_at timestamptz NOT NULL DEFAULT now(),
        last_seen timestamptz NOT NULL DEFAULT now())`
      const applied = yield* Migrations.migrate
      expect(applied.slice(0, 2)).toEqual([
        [6, "drop_etl_worker"],
        [7, "etl_schedule"]
      ])
      expect(applied.at(-1)?.[0]).toBe(Migrations.latest)
      const tables = yield* sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_name LIKE 'etl_%' ORDER BY table_name`
      expect(tables.map((table) => table.name)).toEqual(["etl_run", "etl_schedule"])
    })
  )

  it.effect("data: keyed by (signal_id, timestamp), timestamptz and double precision, finite values only", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* Migrations.migrate
      const columns = yield* sql<{ name: string; type: string; nullable: string }>`
        SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns
        WHERE table_name = 'data' ORDER BY ordinal_position`
      expect(columns).toEqual([
        { name: "timestamp", type: "timestamp with time zone", nullable: "NO" },
        { name: "signal_id", type: "integer", nullable: "NO" },
        { name: "value", type: "double precision", nullable: "NO" }
      ])
      const key = yield* sql<{ column: string }>`SELECT a.attname AS column
        FROM pg_index AS i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
        JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = 'data'::regclass AND i.indisprimary ORDER BY k.position`
      expect(key.map((row) => row.column)).toEqual(["signal_id", "timestamp"])

      const [signal] = yield* sql<{ id: number }>`INSERT INTO signal (name) VALUES ('check_mean') RETURNING id`
      for (const value of ["NaN", "Infinity", "-Infinity"]) {
        const error = yield* Effect.flip(
          sql`INSERT INTO data (timestamp, signal_id, value) VALUES (now(), ${signal!.id}, ${value}::float8)`
        )
        expect(error.reason._tag).toBe("ConstraintError")
      }
      // No per-row foreign key (migration 0011: the sink checks and locks its signals once a load),
      // but a signal that data uses cannot be deleted or renumbered.
      expect(yield* sql`SELECT conname FROM pg_constraint WHERE conrelid = 'data'::regclass AND contype = 'f'`).toEqual(
        []
      )
      yield* sql`INSERT INTO data (timestamp, signal_id, value) VALUES ('2024-01-01T00:00Z', ${signal!.id}, 1)`
      for (const change of [
        sql`DELETE FROM signal WHERE id = ${signal!.id}`,
        sql`UPDATE signal SET id = -1 WHERE id = ${signal!.id}`
      ]) {
        const error = yield* Effect.flip(change)
        expect(error.reason._tag).toBe("ConstraintError")
        expect(Connection.reasonOf(error)).toMatch(/still has rows in data/)
      }
      yield* sql`UPDATE signal SET name = 'check_max' WHERE id = ${signal!.id}`
      yield* sql`DELETE FROM data`
      yield* sql`DELETE FROM signal WHERE id = ${signal!.id}`
      const [again] = yield* sql<{ id: number }>`INSERT INTO signal (name) VALUES ('check_mean') RETURNING id`
      const duplicate = yield* Effect.flip(
        sql`INSERT INTO data (timestamp, signal_id, value)
          VALUES ('2024-01-01T00:00Z', ${again!.id}, 1), ('2024-01-01T00:00Z', ${again!.id}, 2)`
      )
      expect(duplicate.reason._tag).toBe("UniqueViolation")
    })
  )
})
