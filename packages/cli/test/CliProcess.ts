/**
 * The `delfos-etl` command as a child process for the end-to-end tests: the built bin, run with
 * the test's database and fonte in its environment, from a scratch directory.
 */
import { execFile } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const bin = join(import.meta.dirname, "..", "dist", "bin.js")

export interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface CliProcess {
  /** The environment a run gets: DATABASE_URL and SOURCE_API_URL set, `undefined` overrides removed. */
  readonly environment: (overrides?: Record<string, string | undefined>) => Record<string, string>
  /** Runs `delfos-etl args…` to its end. */
  readonly run: (args: ReadonlyArray<string>, overrides?: Record<string, string | undefined>) => Promise<Outcome>
  /** The working directory of every run (an embedded database there stays out of the repository). */
  readonly cwd: string
}

/** `urls` is read at each run, so a test file can set its database and fonte in `beforeAll`. */
export const make = (urls: () => { readonly databaseUrl: string; readonly sourceUrl: string }): CliProcess => {
  const cwd = mkdtempSync(join(tmpdir(), "delfos-cli-"))
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
      execFile(
        process.execPath,
        [bin, ...args],
        { env: environment(overrides), cwd, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr })
      )
    })
  return { environment, run, cwd }
}
