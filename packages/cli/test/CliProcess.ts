/**
 * The `delfos-etl` command as a child process for the end-to-end tests: the built bin, run with
 * the test's database and fonte in its environment, from a scratch directory. Every process a test
 * starts is killed when the test ends, passed, failed or timed out.
 */
import { type ChildProcess, execFile, spawn as spawnChild } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { onTestFinished } from "vitest"

export const bin = join(import.meta.dirname, "..", "dist", "bin.js")

export interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface Running {
  readonly child: ChildProcess
  /** What it wrote so far, stdout and stderr apart. */
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves with its exit code (null when a signal ended it). */
  readonly exit: Promise<number | null>
  /** Waits until `pattern` appears in its output (stdout or stderr); rejects if it exits first or after `timeout`. */
  readonly waitFor: (pattern: RegExp, timeout?: number) => Promise<RegExpExecArray>
}

export interface CliProcess {
  /** The environment a run gets: DATABASE_URL and SOURCE_API_URL set, `undefined` overrides removed. */
  readonly environment: (overrides?: Record<string, string | undefined>) => Record<string, string>
  /** Runs `delfos-etl args…` to its end (killed after a minute). */
  readonly run: (args: ReadonlyArray<string>, overrides?: Record<string, string | undefined>) => Promise<Outcome>
  /** Starts `delfos-etl args…`; killed when the current test ends, if it is still running. */
  readonly spawn: (args: ReadonlyArray<string>, overrides?: Record<string, string | undefined>) => Running
  /** The working directory of every run (an embedded database there stays out of the repository). */
  readonly cwd: string
}

/** Kills `child` when the current test ends, however it ends. */
export const killAfterTest = (child: ChildProcess): void => {
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill("SIGKILL")
    await once(child, "exit")
  }
  try {
    onTestFinished(kill)
  } catch {
    // Outside a test (a beforeAll): the file's afterAll hook or the run's timeout ends it.
    process.once("beforeExit", () => void kill())
  }
}

/** Wraps a child process started by a test: its output, its exit, killed when the test ends. */
export const track = (child: ChildProcess): Running => {
  let stdout = ""
  let stderr = ""
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exit = once(child, "exit").then(([code]) => code as number | null)
  killAfterTest(child)
  const waitFor = (pattern: RegExp, timeout = 30_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const started = Date.now()
      const check = setInterval(() => {
        const match = pattern.exec(`${stdout}${stderr}`)
        if (match !== null) {
          clearInterval(check)
          resolve(match)
        } else if (child.exitCode !== null || child.signalCode !== null || Date.now() - started > timeout) {
          clearInterval(check)
          reject(new Error(`no ${pattern} (exit ${child.exitCode}): ${stdout}${stderr}`))
        }
      }, 20)
    })
  return { child, stdout: () => stdout, stderr: () => stderr, exit, waitFor }
}

/** `urls` is read at each run, so a test file can set its database and fonte in `beforeAll`. */
export const make = (
  urls: () => { readonly databaseUrl?: string | undefined; readonly sourceUrl: string },
  cwd: string = mkdtempSync(join(tmpdir(), "delfos-cli-"))
): CliProcess => {
  const environment = (overrides: Record<string, string | undefined> = {}) => {
    const { databaseUrl, sourceUrl } = urls()
    const env: Record<string, string | undefined> = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      SOURCE_API_URL: sourceUrl,
      ...overrides
    }
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key]
    return env as Record<string, string>
  }
  const run = (args: ReadonlyArray<string>, overrides: Record<string, string | undefined> = {}) =>
    new Promise<Outcome>((resolve) => {
      const child = execFile(
        process.execPath,
        [bin, ...args],
        { env: environment(overrides), cwd, timeout: 60_000, killSignal: "SIGKILL" },
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr })
      )
      killAfterTest(child)
    })
  const spawn = (args: ReadonlyArray<string>, overrides: Record<string, string | undefined> = {}) =>
    track(
      spawnChild(process.execPath, [bin, ...args], {
        env: environment(overrides),
        cwd,
        stdio: ["ignore", "pipe", "pipe"]
      })
    )
  return { environment, run, spawn, cwd }
}
