/**
 * The fonte server alone in a process, for benches that measure its CPU apart from the client's:
 * prints its URL, stops on a line on stdin. `FONTE_DATABASE_URL` names its database (none: embedded).
 */
import * as Server from "../src/Server.ts"

const server = await Server.createFonteServer({
  port: 0,
  databaseUrl: process.env.FONTE_DATABASE_URL || undefined,
  maxConnections: 4
})
process.stdout.write(`${server.url}\n`)
process.stdin.once("data", async () => {
  await server.close()
  process.exit(0)
})
