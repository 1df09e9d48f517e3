/**
 * Bad input as a newcomer types it: refused with exit 2 and one line, nothing written, no password
 * shown; and the database reached the way psql users expect (PGHOST, PGUSER, …, no $USER needed).
 */
import { TestDatabase, TestFonte } from "@delfos/test-utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as CliProcess from "./CliProcess.ts"

const day = "2024-01-01"
const onPostgres = process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== ""

let target: TestDatabase.Handle
let fonte: TestFonte.Handle

const { run: cli } = CliProcess.make(() => ({ databaseUrl: target.url, sourceUrl: fonte.apiUrl }))

beforeAll(async () => {
  target = await TestDatabase.acquire()
  fonte = await TestFonte.start({ startDate: day, days: 1 })
}, 120_000)

afterAll(async () => {
  await fonte?.close()
  await target?.release()
})

const rowsIn = async (url: string) => {
  const tables = await TestDatabase.query<{ n: number }>(
    url,
    "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'data'"
  )
  if (tables[0]!.n === 0) return 0
  const [row] = await TestDatabase.query<{ n: number }>(url, "SELECT count(*)::int AS n FROM data")
  return row!.n
}

/** The lines a failed command printed on stderr, without the database note. */
const problems = (stderr: string) =>
  stderr
    .trim()
    .split("\n")
    .filter((line) => !line.startsWith("using "))

describe("delfos-etl refuses bad input: exit 2, one line, nothing written", () => {
  for (const [what, url, expected] of [
    ["a source URL without a scheme", "localhost:8000/api/v1", /expected http:\/\/ or https:\/\/.*scheme is missing/],
    ["an ftp:// source URL", "ftp://fonte.example/api/v1", /expected http:\/\/ or https:\/\//],
    ["a source URL with credentials", "http://alvo:hunter2@127.0.0.1:9/api/v1", /credentials in the URL/]
  ] as const) {
    it(`${what}`, async () => {
      const before = await rowsIn(target.url)
      const result = await cli(["--date", day, "--source-url", url])
      expect(result.code).toBe(2)
      const lines = problems(result.stderr)
      expect(lines[0]).toMatch(/^delfos-etl: invalid --source-url /)
      expect(lines[0]).toMatch(expected)
      expect(lines.filter((line) => line.startsWith("delfos-etl:"))).toHaveLength(1)
      expect(`${result.stdout}${result.stderr}`).not.toContain("hunter2")
      expect(await rowsIn(target.url)).toBe(before)
    })
  }

  it("a malformed database URL, said once", async () => {
    const result = await cli(["--date", day], { DATABASE_URL: "postgres://%%%" })
    expect(result.code).toBe(2)
    const lines = problems(result.stderr)
    expect(lines.filter((line) => line.startsWith("delfos-etl:"))).toEqual([
      expect.stringMatching(/^delfos-etl: invalid database URL .*: the host "%%%" is not a host name or address$/)
    ])
  })

  it("a database URL of another scheme", async () => {
    const result = await cli(["--date", day, "--database-url", "mysql://alvo:hunter2@localhost/alvo"])
    expect(result.code).toBe(2)
    expect(problems(result.stderr)[0]).toMatch(
      /^delfos-etl: invalid database URL mysql:\/\/alvo@localhost\/alvo: the scheme is mysql/
    )
    expect(`${result.stdout}${result.stderr}`).not.toContain("hunter2")
  })

  it("an unreachable database with a password: exit 1, the password nowhere", async () => {
    const result = await cli(["--date", day, "--json"], { DATABASE_URL: "postgres://alvo:hunter2@127.0.0.1:1/alvo" })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/postgres:\/\/alvo@127\.0\.0\.1:1\/alvo/)
    expect(`${result.stdout}${result.stderr}`).not.toContain("hunter2")
  })
})

describe("delfos-etl reaches Postgres as psql does", () => {
  it.skipIf(!onPostgres)(
    "postgres://host/db without a user works with $USER unset (PGUSER, else the OS user) [needs DATABASE_URL: PGlite has no users]",
    async () => {
      const url = new URL(target.url)
      const withoutUser = `postgres://${url.host}${url.pathname}`
      const result = await cli(["--date", day], {
        DATABASE_URL: withoutUser,
        USER: undefined,
        LOGNAME: undefined,
        PGUSER: decodeURIComponent(url.username)
      })
      expect(result.stderr).toBe(
        `using Postgres at postgres://${decodeURIComponent(url.username)}@${url.host}${url.pathname}\n`
      )
      expect(result.code).toBe(0)
      expect(await rowsIn(target.url)).toBe(1152)
    }
  )

  it.skipIf(!onPostgres)(
    "a URL without host, port or database takes PGHOST, PGPORT, PGDATABASE [needs DATABASE_URL]",
    async () => {
      const url = new URL(target.url)
      expect((await cli(["--date", day])).code).toBe(0)
      const result = await cli(["status", "--from", day, "--to", day, "--json"], {
        DATABASE_URL: "postgres://",
        PGHOST: url.hostname,
        PGPORT: url.port || "5432",
        PGUSER: decodeURIComponent(url.username),
        PGDATABASE: url.pathname.slice(1),
        USER: undefined
      })
      expect(result.code).toBe(0)
      expect(JSON.parse(result.stdout)).toEqual([expect.objectContaining({ day, status: "succeeded" })])
    }
  )

  it.skipIf(!onPostgres)(
    "--concurrency far above the pool: the pool is capped, it says so, and every day runs [needs DATABASE_URL]",
    async () => {
      const result = await cli(["run", "--from", day, "--to", day, "--concurrency", "200"])
      expect(result.stderr).toMatch(/200 partitions at once share 16 database connections/)
      expect(result.code).toBe(0)
    }
  )
})
