import { execFile } from "node:child_process"
import { join } from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const run = promisify(execFile)
const examples = join(import.meta.dirname, "..")

describe("examples", () => {
  it("in-memory.ts runs against the built package and prints rows", async () => {
    const { stdout } = await run(process.execPath, [join(examples, "in-memory.ts")], { cwd: examples })
    expect(stdout).toContain("2024-01-01: succeeded, 1440 samples -> 144 windows -> 1152 rows")
    expect(stdout).toContain("2024-01-02: succeeded, 1440 samples -> 144 windows -> 1152 rows")
    expect(stdout).toMatch(/2304 rows in 8 signals: power_max, power_mean, power_min, power_std, wind_speed_max/)
  })
})
