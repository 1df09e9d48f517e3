import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as CliProcess from "./CliProcess.ts"

// `delfos-etl fonte serve` as a user starts it: no configuration at all, its embedded database in
// the working directory's .delfos/fonte. (`delfos-fonte` is the same command under another name.)
const fresh = () =>
  CliProcess.make(
    () => ({ databaseUrl: undefined, sourceUrl: "http://127.0.0.1:9/api/v1" }),
    mkdtempSync(join(tmpdir(), "delfos-fonte-"))
  )

const serve = async (args: ReadonlyArray<string> = []) => {
  const cli = fresh()
  const server = cli.spawn(["fonte", "serve", "--port", "0", ...args], { FONTE_DATABASE_URL: undefined })
  const [, url] = await server.waitFor(/Listening on (http:\/\/[\d.]+:\d+)/)
  return { cli, server, url: url! }
}

describe("delfos-etl fonte serve (the process)", () => {
  it("serves on an embedded database with no configuration, a line per request, and stops cleanly on SIGTERM", async () => {
    const { server, url } = await serve()
    const seeded = await fetch(`${url}/api/seed`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ start_date: "2024-01-01", days: 1 })
    })
    expect(seeded.status).toBe(201)
    const rows = (await (
      await fetch(`${url}/api/v1/sensors?start_date=2024-01-01&end_date=2024-01-01T23:59:59`)
    ).json()) as Array<unknown>
    expect(rows.length).toBe(1440)
    await server.waitFor(/GET \/api\/v1\/sensors 200 \d+ms/)
    // One line per request: the POST and the GET, each on its own line with method, path and status.
    const requests = server
      .stderr()
      .split("\n")
      .filter((line) => /^\d\d:\d\d:\d\d\.\d{3} (GET|POST) /.test(line))
    expect(requests).toEqual([
      expect.stringMatching(/ POST \/api\/seed 201 \d+ms$/),
      expect.stringMatching(/ GET \/api\/v1\/sensors 200 \d+ms$/)
    ])
    expect(server.stderr()).not.toContain("http.status")
    server.child.kill("SIGTERM")
    expect(await server.exit).toBe(0)
  }, 60_000)

  it("--quiet: no line per request", async () => {
    const { server, url } = await serve(["--quiet"])
    expect((await fetch(`${url}/health`)).status).toBe(200)
    server.child.kill("SIGTERM")
    expect(await server.exit).toBe(0)
    expect(server.stderr()).not.toMatch(/GET \/health/)
  }, 60_000)

  it("a port in use: exit 1, one line saying so", async () => {
    const { server, url } = await serve(["--quiet"])
    const port = new URL(url).port
    const second = await fresh().run(["fonte", "serve", "--port", port, "--quiet"], { FONTE_DATABASE_URL: undefined })
    expect(second.code).toBe(1)
    const failures = second.stderr
      .trim()
      .split("\n")
      .filter((line) => line.startsWith("delfos-etl:"))
    expect(failures).toEqual([
      `delfos-etl: port ${port} on 127.0.0.1 is already in use: stop what listens there, or give another --port (0 picks a free one)`
    ])
    expect(second.stderr).not.toContain("ServeError")
    server.child.kill("SIGTERM")
    expect(await server.exit).toBe(0)
  }, 60_000)

  it("refuses a bad port with exit code 2 and one line", async () => {
    const result = await fresh().run(["fonte", "serve", "--port", "http"])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe('delfos-etl: invalid --port "http": expected a whole number from 0 to 65535\n')
  })
})
