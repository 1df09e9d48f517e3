import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { TestDatabase } from "@delfos/test-utils"
import { describe, expect, it } from "vitest"

const run = promisify(execFile)
const examples = join(import.meta.dirname, "..")
const example = (file: string, env: Record<string, string | undefined> = {}) =>
  run(process.execPath, [join(examples, file)], {
    cwd: examples,
    env: { ...process.env, ...env },
    maxBuffer: 64 * 2 ** 20
  })

describe("examples", () => {
  it("in-memory.ts runs against the built package and prints rows", async () => {
    const { stdout } = await example("in-memory.ts")
    expect(stdout).toContain("2024-01-01: succeeded, 1440 samples -> 144 windows -> 1152 rows")
    expect(stdout).toContain("2024-01-02: succeeded, 1440 samples -> 144 windows -> 1152 rows")
    expect(stdout).toMatch(/2304 rows in 8 signals: power_max, power_mean, power_min, power_std, wind_speed_max/)
  })

  it("csv-source.ts: a custom Source over a CSV file", async () => {
    const { stdout } = await example("csv-source.ts")
    expect(stdout).toContain("2024-01-01: 1440 samples from the CSV -> 144 windows -> 1728 rows")
    expect(stdout).toContain("'wind_speed_mean'")
  })

  it("ndjson-sink.ts: a custom Sink replacing its rows in an NDJSON file", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "delfos-ndjson-"))
    try {
      const file = join(scratch, "rows.ndjson")
      const first = await run(process.execPath, [join(examples, "ndjson-sink.ts"), file], { cwd: examples })
      expect(first.stdout).toBe(
        [
          "2024-01-01: 576 rows written, 0 deleted",
          "2024-01-02: 576 rows written, 0 deleted",
          "2024-01-01 again: 576 rows written, 0 deleted",
          `${file}: 1152 rows (jq -c . ${file} | head)`,
          ""
        ].join("\n")
      )
      const written = readFileSync(file, "utf8")
      const lines = written
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as { timestamp: string; signal: string; value: number })
      expect(lines.length).toBe(2 * 144 * 2 * 2)
      expect(new Set(lines.map((line) => `${line.timestamp} ${line.signal}`)).size).toBe(lines.length)
      expect(new Set(lines.map((line) => line.signal))).toEqual(
        new Set(["power_max", "power_mean", "wind_speed_max", "wind_speed_mean"])
      )
      // Run again on the same file: the loads replace their rows, the file stays as it was.
      await run(process.execPath, [join(examples, "ndjson-sink.ts"), file], { cwd: examples })
      expect(readFileSync(file, "utf8")).toBe(written)
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
  })

  it("http-to-postgres.ts: the HTTP source and the Postgres sink, on a fresh database", async () => {
    const database = await TestDatabase.acquire()
    try {
      // A PGlite test database takes one connection at a time: leave the example to its own embedded one.
      const env = { SOURCE_API_URL: undefined, DATABASE_URL: database.kind === "pglite" ? undefined : database.url }
      const first = await example("http-to-postgres.ts", env)
      expect(first.stdout).toContain("2024-01-01: succeeded, 1440 samples -> 1152 rows")
      expect(first.stdout).toContain("the ledger has 1 run(s) of 2024-01-01, the last succeeded")
      if (env.DATABASE_URL !== undefined) {
        const again = await example("http-to-postgres.ts", env)
        expect(again.stdout).toContain("the ledger has 2 run(s) of 2024-01-01, the last succeeded")
      }
    } finally {
      await database.release()
    }
  }, 60_000)
})
