import { execFile, spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

// The published shape: pack every package, install the tarballs into a project outside the
// workspace (dependencies from the registry), and use them from there as a user would.
const exec = promisify(execFile)
const root = join(import.meta.dirname, "..", "..")
const packages = ["core", "contract", "postgres", "source-http", "sink-postgres", "fonte", "worker", "ui", "cli"]
const scratch = mkdtempSync(join(tmpdir(), "delfos-pack-"))
const npm = (args: ReadonlyArray<string>, cwd: string) =>
  exec("npm", [...args], { cwd, maxBuffer: 64 * 2 ** 20, env: { ...process.env, npm_config_update_notifier: "false" } })

interface Packed {
  readonly name: string
  readonly filename: string
  readonly files: ReadonlyArray<{ readonly path: string }>
}
const packed: Array<Packed> = []

beforeAll(async () => {
  for (const name of packages) {
    // One folder per package: @delfos/etl and delfos-etl both pack to delfos-etl-0.1.0.tgz.
    const destination = mkdtempSync(join(scratch, `${name}-`))
    const { stdout } = await npm(["pack", "--json", "--pack-destination", destination], join(root, "packages", name))
    packed.push(
      ...(JSON.parse(stdout) as Array<Packed>).map((entry) => ({
        ...entry,
        filename: join(destination, entry.filename)
      }))
    )
  }
  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }))
  await npm(
    ["install", "--prefer-offline", "--no-audit", "--no-fund", ...packed.map((entry) => entry.filename)],
    scratch
  )
}, 300_000)

afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe("the packed packages", () => {
  it("ship their build, their LICENSE, and no workspace-only paths", () => {
    for (const entry of packed) {
      const paths = entry.files.map((file) => file.path)
      expect(paths, entry.name).toContain("dist/index.js")
      expect(paths, entry.name).toContain("LICENSE")
      expect(paths, entry.name).toContain("dist/index.d.ts")
      expect(
        paths.some((path) => path.startsWith("test/") || path.startsWith("bench/")),
        entry.name
      ).toBe(false)
      const manifest = JSON.parse(
        readFileSync(join(scratch, "node_modules", ...entry.name.split("/"), "package.json"), "utf8")
      ) as {
        dependencies?: Record<string, string>
      }
      for (const [dependency, range] of Object.entries(manifest.dependencies ?? {})) {
        expect(dependency, `${entry.name} depends on ${dependency}`).not.toBe("@delfos/test-utils")
        expect(range, `${entry.name} -> ${dependency}`).toMatch(/^\d+\.\d+\.\d+$/)
      }
    }
  })

  it("import @delfos/etl and run a pipeline outside the workspace", async () => {
    writeFileSync(
      join(scratch, "pipeline.mjs"),
      `import { MemorySink, MemorySource, Partition, Pipeline } from "@delfos/etl"
import { Effect, Layer } from "effect"
const samples = Array.from({ length: 1440 }, (_, i) => ({ timestamp: new Date(Date.UTC(2024, 0, 1) + i * 60000).toISOString(), wind_speed: 8 + Math.sin(i / 30), power: 2000 }))
const program = Effect.gen(function* () {
  const report = yield* Pipeline.run(Partition.makeUnsafe("2024-01-01"))
  const rows = yield* (yield* MemorySink.MemorySink).rows
  console.log(report.status, report.windows, rows.length)
})
await Effect.runPromise(program.pipe(Effect.provide(Layer.merge(MemorySource.layer(samples), MemorySink.layer()))))
`
    )
    const { stdout } = await exec(process.execPath, ["pipeline.mjs"], { cwd: scratch })
    expect(stdout.trim()).toBe("succeeded 144 1152")
  })

  it("run the contract kit on a sink with vitest, as a user testing their own", async () => {
    writeFileSync(
      join(scratch, "memory-sink.contract.test.mjs"),
      `import { MemorySink } from "@delfos/etl"
import { SinkContract } from "@delfos/etl-contract"
SinkContract.run("MemorySink", MemorySink.layer(), { readRows: MemorySink.MemorySink.use((memory) => memory.rows) })
`
    )
    // vitest came in as the kit's peer dependency.
    const { stdout } = await exec(
      "npx",
      ["--no-install", "vitest", "run", "--reporter", "dot", "memory-sink.contract.test.mjs"],
      {
        cwd: scratch,
        env: { ...process.env, NO_COLOR: "1" }
      }
    )
    expect(stdout).toMatch(/Tests\s+13 passed \(13\)/)
  })

  it("give real types to a TypeScript user", async () => {
    writeFileSync(
      join(scratch, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2023",
          noEmit: true,
          skipLibCheck: true,
          types: []
        },
        files: ["types.ts"]
      })
    )
    writeFileSync(
      join(scratch, "types.ts"),
      `import { Partition, Resample, type Signal } from "@delfos/etl"
import { Effect } from "effect"
import { HttpSource } from "@delfos/etl-source-http"
import { PostgresSink } from "@delfos/etl-sink-postgres"
import { SinkContract } from "@delfos/etl-contract"
const day: Partition.Day = Partition.Day.make("2024-01-01")
const windows: Resample.Windows = Resample.resample([], { range: Partition.range(Partition.makeUnsafe(day)), variables: ["power" as Signal.Variable] })
const count: number = windows.grid.count
// @ts-expect-error a Day is not a number: the types are real, not any
const wrong: number = day
const checks: Array<{ readonly name: string }> = SinkContract.checks({
  readRows: (range: Partition.TimeRange) => Effect.succeed([{ timestamp: range.start, signal: "power_mean", value: 1 }])
})
export const used = [count, wrong, HttpSource.defaultBaseUrl, PostgresSink.defaultBatchSize, checks]
`
    )
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
    // --listFiles: proof that tsc ran and read the packages' own declarations. A type error (an
    // expected error that does not occur because a type is `any`, say) exits non-zero, and so does
    // a tsc that cannot start.
    const result = await exec(process.execPath, [tsc, "-p", "tsconfig.json", "--listFiles"], { cwd: scratch }).then(
      ({ stdout }) => ({ exitCode: 0, stdout }),
      (error: { code?: unknown; stdout?: string; stderr?: string }) => ({
        exitCode: error.code,
        stdout: `${error.stdout ?? ""}${error.stderr ?? ""}`
      })
    )
    expect(result, result.stdout).toMatchObject({ exitCode: 0 })
    const read = result.stdout.split("\n").map((line) => line.trim())
    expect(read).toContain(join(scratch, "types.ts"))
    for (const name of [
      "@delfos/etl",
      "@delfos/etl-contract",
      "@delfos/etl-source-http",
      "@delfos/etl-sink-postgres"
    ]) {
      expect(read, name).toContain(join(scratch, "node_modules", ...name.split("/"), "dist", "index.d.ts"))
    }
  })

  it("npx delfos-etl --help works from the installed package, and its two other names", async () => {
    const { stdout } = await exec("npx", ["--no-install", "delfos-etl", "--help"], { cwd: scratch })
    expect(stdout).toContain("Usage: delfos-etl")
    expect(stdout).toContain("Examples:")
    // `delfos-fonte` is `delfos-etl fonte serve`, `delfos-etl-worker` is `delfos-etl worker`.
    expect((await exec("npx", ["--no-install", "delfos-fonte", "--help"], { cwd: scratch })).stdout).toContain(
      "Usage: delfos-etl fonte serve"
    )
    expect((await exec("npx", ["--no-install", "delfos-etl-worker", "--help"], { cwd: scratch })).stdout).toContain(
      "Usage: delfos-etl worker"
    )
  })

  it("runs a day from the installed package: its fonte, then the ETL, both on the embedded database", async () => {
    const env: Record<string, string | undefined> = { ...process.env, npm_config_update_notifier: "false" }
    delete env.DATABASE_URL
    delete env.FONTE_DATABASE_URL
    delete env.SOURCE_API_URL
    // The installed bin itself (not through npx), so that SIGTERM reaches the server.
    const delfosFonte = join(scratch, "node_modules", "delfos-etl", "bin", "delfos-fonte.js")
    const fonte = spawn(process.execPath, [delfosFonte, "--port", "0", "--quiet"], {
      cwd: scratch,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let text = ""
        fonte.stderr.on("data", (chunk: Buffer) => {
          text += chunk.toString()
          const match = /Listening on (http:\/\/[\d.]+:\d+)/.exec(text)
          if (match) resolve(match[1]!)
        })
        fonte.on("exit", (code) => reject(new Error(`the fonte exited ${code}: ${text}`)))
      })
      await exec("npx", ["--no-install", "delfos-etl", "fonte", "seed", "--start-date", "2024-01-01", "--url", url], {
        cwd: scratch,
        env
      })
      const { stdout } = await exec(
        "npx",
        ["--no-install", "delfos-etl", "--date", "2024-01-01", "--source-url", `${url}/api/v1`],
        { cwd: scratch, env }
      )
      expect(stdout).toContain("2024-01-01  succeeded  1,440 samples  144 windows  1,152 rows")
    } finally {
      fonte.kill("SIGTERM")
      if (fonte.exitCode === null) await once(fonte, "exit")
    }
  })
})
