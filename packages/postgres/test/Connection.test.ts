import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import { describe, expect, it } from "vitest"
import { Connection } from "../src/index.ts"

const parse = (url: string, env: NodeJS.ProcessEnv = {}) => Connection.parse(url, env)

const target = (url: string, env: NodeJS.ProcessEnv = {}) => {
  const result = parse(url, env)
  if (Result.isFailure(result)) throw new Error(`expected ${url} to parse: ${result.failure.message}`)
  return result.success
}

describe("Connection.parse", () => {
  it("reads every part of a full URL, and %-escapes in them", () => {
    const parsed = target("postgresql://al%40vo:p%3Ass@db.example:6543/my%20db?sslmode=require")
    expect(parsed).toMatchObject({ host: "db.example", port: 6543, user: "al@vo", database: "my db" })
    expect(Redacted.value(parsed.password!)).toBe("p:ss")
    expect(parsed.display).toBe("postgres://al@vo@db.example:6543/my db")
  })

  it("fills what the URL leaves out as libpq does: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE", () => {
    const env = { PGHOST: "pg.internal", PGPORT: "5433", PGUSER: "etl", PGPASSWORD: "from-env", PGDATABASE: "alvo" }
    const parsed = target("postgres://", env)
    expect(parsed).toMatchObject({ host: "pg.internal", port: 5433, user: "etl", database: "alvo" })
    expect(Redacted.value(parsed.password!)).toBe("from-env")
    // The URL wins over the environment where it has the part.
    expect(target("postgres://other@db:5432/x", env)).toMatchObject({
      host: "db",
      port: 5432,
      user: "other",
      database: "x"
    })
  })

  it("without a user anywhere takes the OS user, not $USER; the database defaults to the user", () => {
    const parsed = target("postgres://localhost/", { USER: "not-this-one" })
    expect(parsed.user).not.toBe("not-this-one")
    expect(parsed.user.length).toBeGreaterThan(0)
    expect(parsed.database).toBe(parsed.user)
    expect(parsed.host).toBe("localhost")
    expect(parsed.port).toBe(5432)
  })

  it("takes host, port, user, password and dbname from query parameters too", () => {
    const parsed = target("postgres:///?host=/var/run/postgresql&port=5434&user=q&dbname=d&password=pw")
    expect(parsed).toMatchObject({ host: "/var/run/postgresql", port: 5434, user: "q", database: "d" })
  })

  it("refuses what is not a Postgres URL, never showing the password", () => {
    const cases = [
      ["postgres://%%%", /the host "%%%" is not a host name/],
      ["mysql://alvo:hunter2@localhost/alvo", /the scheme is mysql/],
      ["postgres://alvo:hunter2@localhost:99999/alvo", /not a URL/],
      ["postgres://alvo:hunter2@localhost/alvo?port=99999", /port "99999" is not 1 to 65535/],
      ["postgres://al%ZZvo:hunter2@localhost/alvo", /malformed %-escape/],
      ["localhost:5432/alvo", /the scheme is localhost/]
    ] as const
    for (const [url, reason] of cases) {
      const result = parse(url)
      expect(Result.isFailure(result), url).toBe(true)
      const message = Result.isFailure(result) ? result.failure.message : ""
      expect(message).toMatch(/^invalid database URL /)
      expect(message).toMatch(reason)
      expect(message).not.toContain("hunter2")
    }
  })
})

describe("Connection.describe", () => {
  it("shows a URL with its user and without its password; nothing of one that does not parse", () => {
    expect(Connection.describe("postgres://alvo:hunter2@db.example:6543/alvo?sslmode=require")).toBe(
      "postgres://alvo@db.example:6543/alvo"
    )
    expect(Connection.describe(Redacted.make("postgresql://localhost/alvo"))).toBe("postgresql://localhost/alvo")
    expect(Connection.describe("not a url with hunter2")).not.toContain("hunter2")
  })
})

describe("Connection.reasonOf", () => {
  it("joins the distinct messages down a chain of causes", () => {
    const error = new Error("Query failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:1") })
    expect(Connection.reasonOf(error)).toBe("Query failed: connect ECONNREFUSED 127.0.0.1:1")
  })
})

describe("Connection.clientConfig", () => {
  it("asks every session for TimeZone UTC", () => {
    const config = Connection.clientConfig(target("postgres://u@h/d"))
    expect(config.startupParameters).toEqual({ timezone: "UTC" })
  })
})
