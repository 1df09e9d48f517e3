/**
 * The UI's JSON API over a seeded target, each answer checked against SQL run independently on
 * the same database, and the raw samples against the fonte's own answer.
 */
import { Server } from "@delfos/fonte"
import { Connection } from "@delfos/postgres"
import { TestDatabase } from "@delfos/test-utils"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as Api from "../src/Api.ts"
import * as Ui from "../src/Ui.ts"
import { expectedState, farm, seed } from "./Seed.ts"

const fleet = farm()
let database: TestDatabase.Handle | undefined
let fonte: Server.FonteServer | undefined
let ui: Ui.UiServer | undefined

beforeAll(async () => {
  database = await TestDatabase.acquire()
  await Effect.runPromise(
    seed(fleet).pipe(
      Effect.provide(Connection.layer(database.url, { maxConnections: database.maxConnections })),
      Effect.scoped
    ) as Effect.Effect<void, unknown>
  )
  fonte = await Server.createFonteServer({ port: 0 })
  const populated = await fetch(`${fonte.url}/api/v1/sensors/populate_database`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ start_date: fleet.from, days: 1, turbines: 4 })
  })
  expect(populated.status).toBe(201)
  ui = await Ui.createUiServer({
    databaseUrl: database.url,
    maxConnections: database.maxConnections,
    staleAfter: 86_400_000,
    sourceUrl: `${fonte.url}/api/v1`
  })
}, 240_000)

afterAll(async () => {
  await ui?.close()
  await fonte?.close()
  await database?.release()
}, 120_000)

const get = async <A>(path: string, status = 200): Promise<A> => {
  const response = await fetch(`${ui!.url}${path.replace(/^\//, "")}`)
  expect(response.status, `${path}: ${response.status}`).toBe(status)
  return (await response.json()) as A
}

const sql = <A extends object>(statement: string) => TestDatabase.query<A>(database!.url, statement)

const lastDay = "2024-03-06"

describe("the UI's API", () => {
  it("info: the pipeline, its days and turbines (the default series as ''), the variables", async () => {
    const info = await get<Api.Info>("/api/info")
    expect(info.pipelines).toEqual(["default"])
    expect(info.firstDay).toBe(fleet.from)
    expect(info.lastDay).toBe("2024-03-05")
    expect(info.turbines).toEqual([
      { asset: "", label: "default" },
      ...fleet.turbines.map((asset) => ({ asset, label: asset }))
    ])
    expect(info.variables).toEqual(["power", "wind_speed"])
    expect(info.rawSamples).toBe(true)
  })

  it("partitions: turbines × days, each in its state, as the ledger's latest run says", async () => {
    const grid = await get<Api.Grid>(`/api/partitions?from=${fleet.from}&to=${lastDay}`)
    expect(grid.days).toHaveLength(6)
    expect(grid.turbines).toHaveLength(fleet.turbines.length + 1)
    expect(grid.cells).toHaveLength(6 * (fleet.turbines.length + 1))
    for (const cell of grid.cells) {
      expect(cell.state, `${cell.asset} ${cell.day}`).toBe(expectedState(fleet, cell.asset, cell.day))
    }
    // The same from SQL: each partition's latest run.
    const latest = await sql<{ day: string; asset: string; status: string; error: string | null }>(
      `SELECT DISTINCT ON (partition_day, asset) partition_day::text AS day, asset, status, error
       FROM etl_run WHERE pipeline = 'default' ORDER BY partition_day, asset, attempt DESC`
    )
    expect(latest).toHaveLength(grid.cells.filter((cell) => cell.state !== "missing").length)
    for (const run of latest) {
      const cell = grid.cells.find((entry) => entry.day === run.day && entry.asset === run.asset)!
      expect(cell.state).toBe(run.status)
      expect(cell.error).toBe(run.error)
    }
    expect(grid.counts).toEqual({
      missing: 4 + fleet.turbines.length,
      running: 1,
      succeeded: fleet.turbines.length * 5 - 4 + 2,
      degraded: 1,
      empty: 1,
      failed: 1
    })
    const worst = await sql<{ day: string; asset: string; worst: string }>(
      `SELECT partition_day::text AS day, asset,
         CASE WHEN bool_or(severity = 'error') THEN 'error' WHEN bool_or(severity = 'warn') THEN 'warn' ELSE 'ok' END AS worst
       FROM quality WHERE pipeline = 'default' GROUP BY 1, 2`
    )
    for (const entry of worst) {
      expect(grid.cells.find((cell) => cell.day === entry.day && cell.asset === entry.asset)!.quality).toBe(entry.worst)
    }
  })

  it("partitions filters by turbine (`_` the default series) and bounds the range", async () => {
    const one = await get<Api.Grid>(`/api/partitions?from=${fleet.from}&to=${lastDay}&turbine=WTG03,_`)
    expect(one.turbines.map((turbine) => turbine.label)).toEqual(["default", "WTG03"])
    expect(one.cells).toHaveLength(12)
    const bad = await get<{ message: string }>("/api/partitions?from=2024-03-10&to=2024-03-01", 400)
    expect(bad.message).toMatch(/after/)
    expect((await get<{ message: string }>("/api/partitions?from=2024-02-30", 400)).message).toMatch(/2024-02-30/)
    expect((await get<{ message: string }>("/api/partitions?turbine=../etc", 400)).message).toMatch(/asset/)
    expect((await get<{ message: string }>("/api/partitions?from=2020-01-01&to=2024-01-01", 400)).message).toMatch(
      /at most 366/
    )
  })

  it("a failed partition: its run and error; a degraded one: its quality findings, as stored", async () => {
    const failed = await get<Api.PartitionDetail>(`/api/partitions/${fleet.failed.day}/${fleet.failed.asset}`)
    expect(failed.state).toBe("failed")
    expect(failed.runs).toHaveLength(1)
    expect(failed.runs[0]).toMatchObject({ attempt: 1, status: "failed", error: fleet.failed.error })
    const degraded = await get<Api.PartitionDetail>(`/api/partitions/${fleet.degraded.day}/${fleet.degraded.asset}`)
    expect(degraded.state).toBe("degraded")
    const stored = await sql<{ variable: string; check_name: string; value: number; severity: string }>(
      `SELECT variable, check_name, value, severity FROM quality
       WHERE partition_day = '${fleet.degraded.day}' AND asset = '${fleet.degraded.asset}' ORDER BY position`
    )
    expect(stored.length).toBeGreaterThan(0)
    expect(
      degraded.quality.map((finding) => [finding.variable, finding.check, finding.value, finding.severity])
    ).toEqual(stored.map((row) => [row.variable, row.check_name, row.value, row.severity]))
    expect(degraded.quality.find((finding) => finding.check === "coverage")?.severity).not.toBe("ok")
    const defaultSeries = await get<Api.PartitionDetail>(`/api/partitions/${fleet.from}/_`)
    expect(defaultSeries).toMatchObject({ asset: "", label: "default", state: "succeeded" })
    const missing = await get<Api.PartitionDetail>(`/api/partitions/${lastDay}/WTG01`)
    expect(missing).toMatchObject({ state: "missing", runs: [] })
  })

  it("series: as many windows as data holds, each statistic its stored value", async () => {
    const set = await get<Api.SeriesSet>(
      `/api/series?turbine=WTG02,_&signal=wind_speed&from=${fleet.from}&to=2024-03-05`
    )
    expect(set.series.map((series) => series.label)).toEqual(["WTG02", "default"])
    for (const series of set.series) {
      const asset = series.asset === "" ? "s.asset_id IS NULL" : `a.name = '${series.asset}'`
      const rows = await sql<{ t: number; name: string; value: number }>(
        `SELECT (extract(epoch FROM d.timestamp) * 1000)::float8 AS t, s.name, d.value
         FROM data d JOIN signal s ON s.id = d.signal_id LEFT JOIN asset a ON a.id = s.asset_id
         WHERE ${asset} AND s.name LIKE 'wind\\_speed\\_%'
           AND d.timestamp >= '2024-03-01T00:00:00Z' AND d.timestamp < '2024-03-06T00:00:00Z'`
      )
      const means = rows.filter((row) => row.name === "wind_speed_mean")
      expect(series.timestamps).toHaveLength(means.length)
      for (const row of rows) {
        const i = series.timestamps.indexOf(row.t)
        const statistic = row.name.slice("wind_speed_".length) as "mean" | "min" | "max" | "std"
        expect(series[statistic][i]).toBe(row.value)
      }
      expect(series.std.filter((value) => value !== null)).toHaveLength(
        rows.filter((row) => row.name === "wind_speed_std").length
      )
    }
    // WTG02's gap: 8 hours of no windows on its degraded day.
    expect(set.series[0]!.timestamps).toHaveLength(5 * 144 - 48)
  })

  it("raw samples of a window come from the fonte, its end excluded", async () => {
    const raw = await get<Api.RawSamples>(`/api/raw?turbine=WTG02&from=${fleet.from}T12:00:00Z`)
    const direct = (await (
      await fetch(
        `${fonte!.url}/api/v1/sensors?start_date=${fleet.from}T12:00:00&end_date=${fleet.from}T12:09:59&turbine_id=WTG02`
      )
    ).json()) as Array<{ timestamp: string; wind_speed: number | null; power: number | null }>
    expect(raw.timestamps).toHaveLength(direct.length)
    expect(raw.timestamps.map((t) => new Date(t).toISOString().slice(0, 19))).toEqual(
      direct.map((row) => row.timestamp)
    )
    expect(raw.values.wind_speed).toEqual(direct.map((row) => row.wind_speed))
    expect(raw.values.power).toEqual(direct.map((row) => row.power))
    expect((await get<{ message: string }>("/api/raw?from=yesterday", 400)).message).toMatch(/ISO 8601/)
  })

  it("the OpenAPI document lists the endpoints; the page and its assets are served", async () => {
    const document = await get<{ paths: Record<string, unknown> }>("/openapi.json")
    expect(Object.keys(document.paths).sort()).toEqual(
      [
        "/api/info",
        "/api/partitions",
        "/api/partitions/{day}/{asset}",
        "/api/raw",
        "/api/series",
        "/api/turbines"
      ].sort()
    )
    const page = await fetch(ui!.url)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain("delfos-etl ui")
    // Every asset is local: nothing from another origin.
    expect(html).not.toMatch(/src="https?:|href="https?:/)
    const script = html.match(/src="\.\/(assets\/[^"]+\.js)"/)?.[1]
    expect(script).toBeDefined()
    expect((await fetch(`${ui!.url}${script}`)).status).toBe(200)
  })
})
