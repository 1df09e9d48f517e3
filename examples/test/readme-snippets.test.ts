import { type ChildProcess, execFile, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"
import { TestDatabase, TestFonte } from "@delfos/test-utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

// Every TypeScript or JavaScript block of every README runs as written and prints what the README
// shows for it: the ```text block right after it, or else the comment lines that end it; a snippet
// whose README shows no output must print nothing. A snippet that is a test (it imports vitest)
// (or calls a contract kit's `run`) runs under vitest, and its output is one `✓ <describe> > <test>` line per test. Shell, SQL and
// text blocks are not run.
const run = promisify(execFile)
const root = join(import.meta.dirname, "..", "..")
// Written inside examples/ so that the packages resolve to the built workspace packages.
const scratch = mkdtempSync(join(import.meta.dirname, "..", ".snippets-"))

const readmes = [
  "packages/core/README.md",
  "packages/contract/README.md",
  "packages/postgres/README.md",
  "packages/source-http/README.md",
  "packages/sink-postgres/README.md",
  "packages/fonte/README.md",
  "packages/cli/README.md",
  "packages/worker/README.md",
  "packages/test-utils/README.md",
  "packages/ui/README.md",
  "docs/ORCHESTRATION.md",
  "docs/QUALITY.md"
]

const runnable = new Set(["ts", "typescript", "js", "javascript"])
const notRun = new Set(["sh", "bash", "shell", "sql", "text"])

interface Snippet {
  readonly language: string
  readonly code: string
  /** The output the README shows for it; "" when it shows none. */
  readonly expected: string
}

/** The fenced blocks of a README, each with the output shown for it. */
const snippetsOf = (readme: string): Array<Snippet> => {
  const text = readFileSync(join(root, readme), "utf8")
  const blocks = [...text.matchAll(/^```(\S*)[^\n]*\n([\s\S]*?)^```[ \t]*$/gm)].map((match) => ({
    language: match[1]!,
    code: match[2]!,
    start: match.index,
    end: match.index + match[0].length
  }))
  return blocks.map((block, i) => {
    const next = blocks[i + 1]
    const followedByOutput =
      next !== undefined && next.language === "text" && text.slice(block.end, next.start).trim() === ""
    return {
      language: block.language,
      code: block.code,
      expected: followedByOutput ? next.code : trailingComments(block.code)
    }
  })
}

/** The comment lines that end a snippet, after its last line of code, without their `// `. */
const trailingComments = (code: string): string => {
  const lines = code.trimEnd().split("\n")
  const output: Array<string> = []
  for (let i = lines.length - 1; i >= 0 && lines[i]!.startsWith("//"); i--)
    output.unshift(lines[i]!.replace(/^\/\/ ?/, ""))
  return output.join("\n")
}

const normalized = (output: string) =>
  output
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .trim()

let fonte: TestFonte.Handle
const databases: Array<TestDatabase.Handle> = []

beforeAll(async () => {
  // What the snippets that read a fonte at SOURCE_API_URL expect to find there: January 2024, seed 42.
  fonte = await TestFonte.start({ startDate: "2024-01-01", days: 31 })
}, 120_000)

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true })
  await Promise.all(databases.map((database) => database.release()))
  await fonte?.close()
})

/** The environment of a README's snippets: a fresh database of its own at DATABASE_URL, the fonte at SOURCE_API_URL. */
const environmentFor = async (readme: string): Promise<NodeJS.ProcessEnv> => {
  // The test helpers' own snippets pick their database as the test suites do, from this process's DATABASE_URL.
  if (readme === "packages/test-utils/README.md") return { ...process.env }
  const database = await TestDatabase.acquire()
  databases.push(database)
  return { ...process.env, DATABASE_URL: database.url, SOURCE_API_URL: fonte.apiUrl }
}

// A contract kit's `run` declares vitest tests, as `describe` does.
const isTest = (code: string) => /from "(vitest|@effect\/vitest)"/.test(code) || /\b\w+Contract\.run\(/.test(code)

/** Runs a snippet with node; its stdout, after checking it exits 0 and writes nothing to stderr. */
const runScript = async (file: string, env: NodeJS.ProcessEnv): Promise<string> => {
  const { stderr, stdout } = await run(process.execPath, [file], { cwd: scratch, env, timeout: 120_000 })
  expect(stderr).toBe("")
  return stdout
}

/** Runs a test snippet with vitest; one `✓ <describe> > <test>` (or `×`) line per test. */
const runTest = async (file: string, env: NodeJS.ProcessEnv): Promise<string> => {
  const report = `${file}.json`
  const vitest = join(root, "node_modules", "vitest", "vitest.mjs")
  await run(process.execPath, [vitest, "run", file, "--root", scratch, "--reporter=json", `--outputFile=${report}`], {
    cwd: scratch,
    env,
    timeout: 120_000
  }).catch((error: Error & { stdout?: string; stderr?: string }) => {
    if (!existsSync(report)) throw new Error(`vitest did not run: ${error.stderr ?? error.message}`)
  })
  const results = JSON.parse(readFileSync(report, "utf8")) as {
    testResults: Array<{ assertionResults: Array<{ ancestorTitles: Array<string>; title: string; status: string }> }>
  }
  return results.testResults
    .flatMap((file) => file.assertionResults)
    .map((test) => `${test.status === "passed" ? "✓" : "×"} ${[...test.ancestorTitles, test.title].join(" > ")}`)
    .join("\n")
}

/**
 * Runs a snippet that serves until SIGTERM: once `ready` says it is serving, sends the signal; its
 * stdout, after checking it then exits 0 with nothing on stderr.
 */
const runUntilStopped = async (
  file: string,
  env: NodeJS.ProcessEnv,
  ready: (env: NodeJS.ProcessEnv) => Promise<boolean>
): Promise<string> => {
  const child: ChildProcess = spawn(process.execPath, [file], { cwd: scratch, env })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk) => (stdout += chunk))
  child.stderr!.on("data", (chunk) => (stderr += chunk))
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
  )
  try {
    for (;;) {
      const ended = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve(undefined), 200))])
      if (ended !== undefined) throw new Error(`exited (${ended}) before it was stopped: ${stderr}`)
      if (await ready(env)) break
    }
    child.kill("SIGTERM")
    expect(await exited, stderr).toBe(0)
  } finally {
    child.kill("SIGKILL")
  }
  expect(stderr).toBe("")
  return stdout
}

/**
 * The worker carrying the `nightly` schedule has queued its catch-up tick (its row in `etl_schedule`):
 * by then it has started, and the snippet's SIGTERM handler is in place.
 */
const workerServing = (env: NodeJS.ProcessEnv) =>
  TestDatabase.query<{ n: number }>(
    env.DATABASE_URL!,
    "SELECT count(*)::int AS n FROM etl_schedule WHERE pipeline = 'nightly'"
  ).then(
    ([row]) => row!.n > 0,
    () => false
  )

// Snippets that serve until stopped, by README and block number, with how to tell they are serving.
const servers = new Map([["packages/worker/README.md 5", workerServing]])

// Snippets that need a real Postgres: graphile-worker (LISTEN/NOTIFY, several connections), and loads of
// several partitions at once over a pool, which PGlite's socket serves one statement at a time.
const needsPostgres = new Set(["packages/worker/README.md", "docs/ORCHESTRATION.md"])

// Snippets whose README describes their output in words (in a comment mid-snippet) instead of showing
// it: they run, and their output is not compared. None today.
const outputDescribed = new Set<string>()

describe("the READMEs", () => {
  it("include every package's README", () => {
    const packages = readdirSync(join(root, "packages")).filter((name) =>
      existsSync(join(root, "packages", name, "README.md"))
    )
    expect(packages.map((name) => `packages/${name}/README.md`).filter((readme) => !readmes.includes(readme))).toEqual(
      []
    )
  })
})

for (const readme of readmes) {
  const snippets = snippetsOf(readme)
  const skip = needsPostgres.has(readme) && !process.env.DATABASE_URL
  describe(readme, () => {
    let env: NodeJS.ProcessEnv
    beforeAll(async () => {
      if (!skip) env = await environmentFor(readme)
    }, 60_000)

    it("has no code block in a language these tests neither run nor leave alone", () => {
      expect(
        snippets
          .map((snippet) => snippet.language)
          .filter((language) => !runnable.has(language) && !notRun.has(language))
      ).toEqual([])
    })

    snippets.forEach((snippet, i) => {
      if (!runnable.has(snippet.language)) return
      const name = `${readme} ${i + 1}`
      const prints =
        snippet.expected.trim() === "" ? "prints nothing (the README shows no output)" : "prints what the README shows"
      const what = isTest(snippet.code)
        ? "passes under vitest with the results the README shows"
        : servers.has(name)
          ? `serves until SIGTERM, then exits 0 and ${prints}`
          : outputDescribed.has(name)
            ? "runs (its output, described in a comment rather than shown, is not compared)"
            : `runs and ${prints}`
      it.skipIf(skip)(
        skip
          ? `block ${i + 1} ${what}: skipped, it needs a real Postgres (set DATABASE_URL)`
          : `block ${i + 1} ${what}`,
        async () => {
          const file = join(scratch, `${readme.replaceAll("/", "-")}-${i + 1}${isTest(snippet.code) ? ".test" : ""}.ts`)
          writeFileSync(file, snippet.code)
          const output = isTest(snippet.code)
            ? await runTest(file, env)
            : servers.has(name)
              ? await runUntilStopped(file, env, servers.get(name)!)
              : await runScript(file, env)
          if (!outputDescribed.has(name)) expect(normalized(output)).toBe(normalized(snippet.expected))
        },
        180_000
      )
    })
  })
}
