import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const bin = join(import.meta.dirname, "..", "dist", "bin.js")

/** Starts `delfos-fonte` on a free port and waits for its "Listening on" line. */
const start = async (): Promise<{ child: ChildProcess; url: string }> => {
  const env = { ...process.env }
  delete env.DATABASE_URL
  const child = spawn(process.execPath, [bin, "--port", "0"], { env, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "Listening on" line: ${output}`)), 20_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /Listening on (http:\/\/[\d.]+:\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.on("exit", (code) => reject(new Error(`exited with ${code}: ${output}`)))
  })
  return { child, url }
}

describe("delfos-fonte (the process)", () => {
  it("serves on an embedded database with no configuration and stops cleanly on SIGTERM", async () => {
    const { child, url } = await start()
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
    child.kill("SIGTERM")
    const [code, signal] = await once(child, "exit")
    expect({ code, signal }).toEqual({ code: 0, signal: null })
  }, 30_000)

  it("refuses a bad port with exit code 2", async () => {
    const child = spawn(process.execPath, [bin, "--port", "http"], { stdio: ["ignore", "pipe", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const [code] = await once(child, "exit")
    expect(code).toBe(2)
    expect(stderr).toContain('invalid port "http"')
  })
})
