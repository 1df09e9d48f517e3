/**
 * A `Sink` that keeps rows in memory, with the same replace-the-partition semantics as the
 * Postgres sink: for tests, demos, and apps that consume the rows themselves.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type AssetId, compare as compareAssets } from "./Asset.ts"
import * as Partition from "./Partition.ts"
import type { SignalName } from "./Signal.ts"
import { invalidRow, type LoadRequest, type LoadResult, Sink, SinkLoadFailed } from "./Sink.ts"
import * as TidyRows from "./TidyRows.ts"

/** The memory sink's own handle, to read what it holds. */
export class MemorySink extends Context.Service<
  MemorySink,
  {
    /** Every row held, sorted by timestamp, asset, then signal. */
    readonly rows: Effect.Effect<Array<TidyRows.TidyRow>>
  }
>()("@delfos/etl/MemorySink") {}

/** A memory Sink and the handle to its rows. */
export const make = (name = "memory"): { readonly sink: Sink["Service"]; readonly memory: MemorySink["Service"] } => {
  // (asset, signal) -> window start (epoch ms) -> value
  let state = new Map<string, Map<number, number>>()
  const seriesKey = (asset: AssetId | undefined, signal: SignalName) => `${asset ?? ""}\u0000${signal}`

  // Applies a load to `next` (a copy of `state` being built) and says what it did.
  const apply = (next: Map<string, Map<number, number>>, request: LoadRequest): LoadResult => {
    const { partition, range, rows, signals } = request
    const inRange = (t: number) => t >= range.start && t < range.end
    const owned = signals.map((signal) => seriesKey(partition.asset, signal))
    const before = owned.map((key) => next.get(key) ?? new Map<number, number>())
    owned.forEach((key, i) => {
      next.set(key, new Map([...before[i]!].filter(([t]) => !inRange(t))))
    })
    for (let i = 0; i < rows.length; i++) {
      const key = seriesKey(partition.asset, TidyRows.signalAt(rows, i))
      let series = next.get(key)
      if (series === undefined || series === state.get(key)) {
        series = new Map(series ?? [])
        next.set(key, series)
      }
      series.set(rows.timestamps[i]!, rows.values[i]!)
    }
    let rowsDeleted = 0
    owned.forEach((key, i) => {
      const after = next.get(key)!
      for (const [t] of before[i]!) if (inRange(t) && !after.has(t)) rowsDeleted++
    })
    return { rowsWritten: rows.length, rowsDeleted }
  }

  // Build the next state aside, then swap: a load (or a batch of them) is all or nothing.
  const loadBatch = (requests: ReadonlyArray<LoadRequest>): Effect.Effect<Array<LoadResult>, SinkLoadFailed> =>
    Effect.suspend(() => {
      for (const request of requests) {
        const invalid = invalidRow(request)
        if (invalid !== undefined) {
          return Effect.fail(
            new SinkLoadFailed({ sink: name, partition: Partition.format(request.partition), reason: invalid })
          )
        }
      }
      const next = new Map(state)
      const results = requests.map((request) => apply(next, request))
      state = next
      return Effect.succeed(results)
    })

  const load = (request: LoadRequest): Effect.Effect<LoadResult, SinkLoadFailed> =>
    Effect.map(loadBatch([request]), (results) => results[0]!)

  const rows = Effect.sync(() => {
    const out: Array<TidyRows.TidyRow> = []
    for (const [key, series] of state) {
      const [asset, signal] = key.split("\u0000") as [string, SignalName]
      const rows = [...series].map(([timestamp, value]) => ({ timestamp, signal, value }))
      out.push(...TidyRows.toArray(TidyRows.fromArray(rows, asset === "" ? undefined : (asset as AssetId))))
    }
    out.sort(
      (a, b) =>
        a.timestamp.localeCompare(b.timestamp) ||
        compareAssets(a.asset, b.asset) ||
        (a.signal < b.signal ? -1 : a.signal > b.signal ? 1 : 0)
    )
    return out
  })

  return { sink: Sink.of({ name, load, loadBatch }), memory: MemorySink.of({ rows }) }
}

/** A layer providing a memory `Sink` and its `MemorySink` handle. */
export const layer = (name?: string): Layer.Layer<Sink | MemorySink> =>
  Layer.effectContext(
    Effect.sync(() => {
      const { memory, sink } = make(name)
      return Context.make(Sink, sink).pipe(Context.add(MemorySink, memory))
    })
  )
