/**
 * Signal names to `signal.id`s: created on demand, read back from the table (never inferred from
 * insertion order), and cached for the life of the sink since an id never changes once given.
 */
import type { Signal } from "@delfos/etl"
import { PgTypes } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"

export interface SignalIds {
  /** The id of every name, creating the signals that do not exist yet. */
  readonly resolve: (
    names: ReadonlyArray<Signal.SignalName>
  ) => Effect.Effect<ReadonlyMap<Signal.SignalName, number>, SqlError.SqlError>
}

export const make = (sql: SqlClient.SqlClient): SignalIds => {
  const cache = new Map<Signal.SignalName, number>()

  // Runs outside any load's transaction and commits on its own: a signal that a failed load created
  // stays, unused and harmless, and the cache never holds an id that a rollback took back.
  const create = (names: ReadonlyArray<Signal.SignalName>) =>
    Effect.gen(function* () {
      // Sorted, so concurrent creators take the unique index's locks in the same order and never
      // deadlock; DO NOTHING makes a name another load created first (or at once) a no-op.
      const sorted = Result.getOrThrow(PgTypes.array([...names].sort(), PgTypes.OID.text))
      yield* sql`INSERT INTO signal (name)
        SELECT name FROM unnest(${sorted}) AS u(name) ORDER BY name
        ON CONFLICT (name) DO NOTHING`
      const rows = yield* sql<{ id: number; name: Signal.SignalName }>`SELECT id, name FROM signal
        WHERE name = ANY(${sorted})`
      for (const row of rows) cache.set(row.name, row.id)
    })

  const resolve = (names: ReadonlyArray<Signal.SignalName>) =>
    Effect.gen(function* () {
      const missing = [...new Set(names)].filter((name) => !cache.has(name))
      if (missing.length > 0) yield* create(missing)
      return new Map(names.map((name) => [name, cache.get(name)!]))
    })

  return { resolve }
}
