/**
 * The benches' fonte: `delfos-etl fonte serve` as a process of its own on a database, its URL read
 * from its "Listening on" line, stopped with SIGTERM.
 */
import { spawn } from "node:child_process"

export interface FonteProcess {
  readonly url: string
  readonly stop: () => Promise<void>
}

export const start = async (bin: string, databaseUrl: string): Promise<FonteProcess> => {
  const child = spawn(process.execPath, [bin, "fonte", "serve", "--port", "0", "--database-url", databaseUrl], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  const url = await new Promise<string>((resolve, reject) => {
    let text = ""
    const onData = (chunk: Buffer) => {
      text += chunk.toString()
      const match = /Listening on (http:\/\/[\d.]+:\d+)/.exec(text)
      if (match) resolve(match[1]!)
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.on("exit", (code) => reject(new Error(`fonte exited ${code}: ${text}`)))
  })
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM")
      if (child.exitCode === null) await new Promise((resolve) => child.on("exit", resolve))
    }
  }
}
