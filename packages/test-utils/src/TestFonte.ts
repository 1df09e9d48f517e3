/**
 * A real fonte server for a test file: on a fresh database of its own (`TestDatabase`), on a free
 * port, seeded through its own API. One call instead of the same setup in every package's tests.
 */
import { Server } from "@delfos/fonte"
import * as TestDatabase from "./TestDatabase.ts"

export interface Seed {
  /** The first day, `YYYY-MM-DD`. */
  readonly startDate: string
  readonly days: number
  /** The generator's seed; the server's default (42) when absent. */
  readonly seed?: number | undefined
}

export interface Handle {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** `http://127.0.0.1:<port>/api/v1`, what a source reads. */
  readonly apiUrl: string
  readonly database: TestDatabase.Handle
  /** Stops the server and drops its database. */
  readonly close: () => Promise<void>
}

export interface StartOptions {
  /** A Postgres server to create the fonte's database on; `TestDatabase.acquire()`'s choice when absent. */
  readonly serverUrl?: string | undefined
}

/** Starts the server and, when asked, seeds it; throws if seeding is refused. */
export const start = async (seed?: Seed, options: StartOptions = {}): Promise<Handle> => {
  const database =
    options.serverUrl === undefined
      ? await TestDatabase.acquire()
      : await TestDatabase.acquirePostgres(options.serverUrl)
  const server = await Server.createFonteServer({
    port: 0,
    databaseUrl: database.url,
    maxConnections: database.maxConnections
  })
  const close = async () => {
    await server.close()
    await database.release()
  }
  if (seed !== undefined) {
    const response = await fetch(`${server.url}/api/seed`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        start_date: seed.startDate,
        days: seed.days,
        ...(seed.seed === undefined ? {} : { seed: seed.seed })
      })
    })
    if (response.status !== 201) {
      await close()
      throw new Error(`seeding the test fonte failed: ${response.status} ${await response.text()}`)
    }
  }
  return { url: server.url, apiUrl: `${server.url}/api/v1`, database, close }
}
