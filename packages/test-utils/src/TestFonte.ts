/**
 * A real fonte server for a test file: on a fresh database of its own (`TestDatabase`), on a free
 * port, seeded through its own API. One call instead of the same setup in every package's tests.
 */
import { FonteClient, Server } from "@delfos/fonte"
import * as TestDatabase from "./TestDatabase.ts"

/** What to seed: `startDate` (`YYYY-MM-DD`), `days`, and the generator's `seed` (42 when absent). */
export type Seed = FonteClient.PopulateOptions

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
    try {
      await FonteClient.populatePromise(server.url, seed)
    } catch (error) {
      await close()
      throw error
    }
  }
  return { url: server.url, apiUrl: `${server.url}/api/v1`, database, close }
}
