/**
 * Signals to `signal.id`s: a signal is a name of an asset's series (`power_mean` of WTG07, through
 * `asset`) or of the default series (no asset). Created on demand, read back from the tables (never
 * inferred from insertion order), and cached for the life of the sink since an id never changes.
 */
import type { Asset, Signal } from "@delfos/etl"
import { PgTypes } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"

/** The signals of one asset, or of the default series when `asset` is absent. */
export interface Wanted {
  readonly asset?: Asset.AssetId | undefined
  readonly names: ReadonlyArray<Signal.SignalName>
}

/** A signal's key in the maps `resolve` returns. */
export const keyOf = (asset: Asset.AssetId | undefined, name: Signal.SignalName): string =>
  `${asset ?? ""}\u0000${name}`

export interface SignalIds {
  /** The id of every wanted signal (by `keyOf`), creating the assets and signals that do not exist yet. */
  readonly resolve: (wanted: ReadonlyArray<Wanted>) => Effect.Effect<ReadonlyMap<string, number>, SqlError.SqlError>
}

const text = (values: ReadonlyArray<string>) => Result.getOrThrow(PgTypes.array(values, PgTypes.OID.text))

export const make = (sql: SqlClient.SqlClient): SignalIds => {
  const cache = new Map<string, number>()

  // Runs outside any load's transaction and commits on its own: a signal that a failed load created
  // stays, unused and harmless, and the cache never holds an id that a rollback took back. Sorted,
  // so concurrent creators take the unique indexes' locks in the same order and never deadlock; DO
  // NOTHING makes what another load created first (or at once) a no-op.
  const create = (missing: ReadonlyArray<{ readonly asset: string; readonly name: string }>) =>
    Effect.gen(function* () {
      const ordered = [...missing].sort((a, b) =>
        a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0
      )
      const defaults = ordered.filter((signal) => signal.asset === "").map((signal) => signal.name)
      const ofAssets = ordered.filter((signal) => signal.asset !== "")
      if (defaults.length > 0) {
        yield* sql`INSERT INTO signal (name)
          SELECT name FROM unnest(${text(defaults)}) AS u(name) ORDER BY name
          ON CONFLICT (name) WHERE asset_id IS NULL DO NOTHING`
      }
      if (ofAssets.length > 0) {
        const assets = [...new Set(ofAssets.map((signal) => signal.asset))]
        yield* sql`INSERT INTO asset (name)
          SELECT name FROM unnest(${text(assets)}) AS u(name) ORDER BY name
          ON CONFLICT (name) DO NOTHING`
        yield* sql`INSERT INTO signal (name, asset_id)
          SELECT u.name, a.id FROM unnest(${text(ofAssets.map((signal) => signal.asset))}, ${text(ofAssets.map((signal) => signal.name))}) AS u(asset, name)
          JOIN asset AS a ON a.name = u.asset
          ORDER BY a.id, u.name
          ON CONFLICT (asset_id, name) WHERE asset_id IS NOT NULL DO NOTHING`
      }
      const rows = yield* sql<{
        id: number
        asset: string
        name: string
      }>`SELECT s.id, coalesce(a.name, '') AS asset, s.name
        FROM unnest(${text(ordered.map((signal) => signal.asset))}, ${text(ordered.map((signal) => signal.name))}) AS u(asset, name)
        LEFT JOIN asset AS a ON a.name = u.asset
        JOIN signal AS s ON s.name = u.name AND s.asset_id IS NOT DISTINCT FROM a.id`
      for (const row of rows) cache.set(`${row.asset}\u0000${row.name}`, row.id)
    })

  const resolve = (wanted: ReadonlyArray<Wanted>) =>
    Effect.gen(function* () {
      const missing = new Map<string, { asset: string; name: string }>()
      for (const { asset, names } of wanted) {
        for (const name of names) {
          const key = keyOf(asset, name)
          if (!cache.has(key)) missing.set(key, { asset: asset ?? "", name })
        }
      }
      if (missing.size > 0) yield* create([...missing.values()])
      return new Map(
        wanted.flatMap(({ asset, names }) => names.map((name) => [keyOf(asset, name), cache.get(keyOf(asset, name))!]))
      )
    })

  return { resolve }
}
