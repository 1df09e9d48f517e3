/**
 * A farm end to end through `delfos-etl` processes: 10 turbines × 3 days from a real fonte server
 * into the test's target. The rows of every turbine are checked against the fonte's own samples
 * aggregated in SQL (an independent computation), the quality rows against the faults the generator
 * planted, and the fleet's orchestration: a strict policy failing a turbine-day, `status` of one
 * turbine, `backfill --only failed` running only the turbine-days that failed.
 */
import { Generator } from "@delfos/fonte"
import { TestDatabase, TestFonte } from "@delfos/test-utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as CliProcess from "./CliProcess.ts"

let target: TestDatabase.Handle
let fonte: TestFonte.Handle

const turbines = 10
const startDate = "2024-01-01"
const days = 3
const start = Date.parse(`${startDate}T00:00:00Z`)
const end = start + days * 86_400_000

const { run: cli } = CliProcess.make(() => ({ databaseUrl: target.url, sourceUrl: fonte.apiUrl }))

beforeAll(async () => {
  target = await TestDatabase.acquire()
  fonte = await TestFonte.start({ startDate, days, turbines })
}, 120_000)

afterAll(async () => {
  await fonte?.close()
  await target?.release()
})

const range = ["--from", "2024-01-01", "--to", "2024-01-03"]

/** Partitions of the ledger, from `status --json`. */
const states = async (pipeline: string, extra: ReadonlyArray<string> = []) => {
  const result = await cli(["status", "--pipeline", pipeline, ...range, "--json", ...extra])
  expect(result.code).toBe(0)
  return JSON.parse(result.stdout) as Array<{ day: string; asset?: string; status: string; attempts: number }>
}

describe("a farm through delfos-etl", () => {
  it("loads every turbine's 10-minute statistics as the fonte's samples aggregated in SQL give them", async () => {
    const result = await cli(["run", ...range, "--turbines", "all", "--batch-size", "4", "--pipeline", "fleet"])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`30 turbine-days (3 days × 10 turbines): 30 succeeded · `)

    // The fonte's samples per turbine and 10-minute window, aggregated by Postgres itself.
    const expected = await TestDatabase.query<{
      turbine: string
      at: number
      variable: string
      mean: number | null
      min: number | null
      max: number | null
      std: number | null
    }>(
      fonte.database.url,
      `SELECT t.turbine_id AS turbine, extract(epoch FROM w.at)::float8 * 1000 AS at, v.variable,
              avg(v.value) AS mean, min(v.value) AS min, max(v.value) AS max, stddev_samp(v.value) AS std
       FROM data d
       JOIN turbine t ON t.id = d.turbine
       CROSS JOIN LATERAL (VALUES ('wind_speed', d.wind_speed), ('power', d.power)) AS v(variable, value)
       CROSS JOIN LATERAL (SELECT date_bin('10 minutes', d.timestamp, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS at) AS w
       WHERE d.timestamp >= to_timestamp(${start / 1000}) AND d.timestamp < to_timestamp(${end / 1000})
       GROUP BY 1, 2, 3`
    )
    const want = new Map<string, number>()
    for (const row of expected) {
      for (const statistic of ["mean", "min", "max", "std"] as const) {
        const value = row[statistic]
        if (value !== null) want.set(`${row.turbine}|${row.at}|${row.variable}_${statistic}`, Number(value))
      }
    }
    const loaded = await TestDatabase.query<{ turbine: string; at: number; signal: string; value: number }>(
      target.url,
      `SELECT a.name AS turbine, extract(epoch FROM d.timestamp)::float8 * 1000 AS at, s.name AS signal, d.value
       FROM data d JOIN signal s ON s.id = d.signal_id JOIN asset a ON a.id = s.asset_id`
    )
    expect(new Set(loaded.map((row) => row.turbine)).size).toBe(turbines)
    expect(loaded.length).toBe(want.size)
    let worst = 0
    for (const row of loaded) {
      const key = `${row.turbine}|${Number(row.at)}|${row.signal}`
      const value = want.get(key)
      expect(value, key).toBeDefined()
      worst = Math.max(worst, Math.abs(Number(row.value) - value!) / Math.max(1, Math.abs(value!)))
    }
    expect(worst).toBeLessThan(1e-9)

    // Quality: the turbine-days flagged are exactly those the generator planted faults in.
    const flagged = await TestDatabase.query<{ asset: string; day: string }>(
      target.url,
      `SELECT DISTINCT asset, to_char(partition_day, 'YYYY-MM-DD') AS day FROM quality
       WHERE pipeline = 'fleet' AND severity <> 'ok' ORDER BY 1, 2`
    )
    const planted = Generator.faults({ seed: 42, turbines, start, days })
      .map((fault) => `${fault.turbine} ${fault.day}`)
      .sort()
    expect(planted.length).toBeGreaterThanOrEqual(3)
    expect(flagged.map((row) => `${row.asset} ${row.day}`)).toEqual(planted)
    const checked = await TestDatabase.query<{ partitions: number }>(
      target.url,
      `SELECT count(DISTINCT (asset, partition_day))::int AS partitions FROM quality WHERE pipeline = 'fleet'`
    )
    expect(checked[0]!.partitions).toBe(turbines * days)

    // The calendar of the fleet: every day complete, the flagged ones marked.
    const status = await cli(["status", "--pipeline", "fleet", ...range])
    expect(status.code).toBe(0)
    expect(status.stdout).toContain("10 turbines")
    expect(status.stdout).toContain("turbine-days: 30 succeeded (of 30)")
    expect(status.stdout).toContain("worst quality:")
  })

  it("fails the turbine-days below --min-coverage with --strict, shows one turbine, and backfills only those", async () => {
    const downtime = Generator.faults({ seed: 42, turbines, start, days }).filter((fault) => fault.kind === "downtime")
    expect(downtime.length).toBeGreaterThan(0)
    const result = await cli([
      "run",
      ...range,
      "--turbines",
      "all",
      "--pipeline",
      "strict",
      "--min-coverage",
      "0.95",
      "--strict"
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("below the minimum 95.0% (strict): not loaded")
    const failed = (await states("strict"))
      .filter((state) => state.status === "failed")
      .map((state) => `${state.asset} ${state.day}`)
    expect(failed).toEqual(downtime.map((fault) => `${fault.turbine} ${fault.day}`).sort())

    const one = await cli(["status", "--pipeline", "strict", ...range, "--turbine", downtime[0]!.turbine])
    expect(one.code).toBe(0)
    expect(one.stdout).toContain(`turbine ${downtime[0]!.turbine}`)
    expect(one.stdout).toMatch(/failed 1 .*\(3 days\)/)
    const oneJson = await states("strict", ["--turbine", downtime[0]!.turbine])
    expect(oneJson.map((state) => state.asset)).toEqual([
      downtime[0]!.turbine,
      downtime[0]!.turbine,
      downtime[0]!.turbine
    ])

    const backfill = await cli(["backfill", "--pipeline", "strict", ...range, "--turbines", "all", "--only", "failed"])
    expect(backfill.code).toBe(0)
    expect(backfill.stdout).toContain(`${downtime.length} of 30 turbine-days (3 days × 10 turbines) to run`)
    const after = await states("strict")
    expect(after.every((state) => state.status === "succeeded")).toBe(true)
    const reran = after.filter((state) => state.attempts === 2).map((state) => `${state.asset} ${state.day}`)
    expect(reran).toEqual(failed)
  })

  it("refuses --strict without --min-coverage and a bad turbine id, with exit 2 and one line", async () => {
    const strict = await cli(["run", "--date", startDate, "--turbines", "all", "--strict"])
    expect(strict.code).toBe(2)
    expect(strict.stderr.trim().split("\n")).toHaveLength(1)
    expect(strict.stderr).toContain("--strict needs --min-coverage")
    const bad = await cli(["run", "--date", startDate, "--turbines", "WTG01,no good"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('invalid asset "no good"')
  })
})
