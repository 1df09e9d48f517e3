/**
 * A `Sink` that keeps rows in memory, with the same replace-the-partition semantics as the
 * Postgres sink: for tests, demos, and apps that consume the rows themselves.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Partition from "./Partition.ts"
import type { SignalName } from "./Signal.ts"
import { invalidRow, type LoadRequest, type LoadResult, Sink, SinkLoadFailed } from "./Sink.ts"
import * as TidyRows from "./TidyRows.ts"

/** The memory sink's own handle, to read what it holds. */
export class MemorySink extends Context.Service<
  MemorySink,
  {
    /** Every row held, sorted by timestamp then signal. */
    readonly rows: Effect.Effect<Array<TidyRows.TidyRow>>
  }
>()("@delfos/etl/MemorySink") {}

/** A memory Sink and the handle to its rows. */
export const make = (name = "memory"): { readonly sink: Sink["Service"]; readonly memory: MemorySink["Service"] } => {
  // signal -> window start (epoch ms) -> value
  let state = new Map<SignalName, Map<number, number>>()

  const load = (request: LoadRequest): Effect.Effect<LoadResult, SinkLoadFailed> =>
    Effect.suspend(() => {
      const invalid = invalidRow(request)
      if (invalid !== undefined) {
        return Effect.fail(
          new SinkLoadFailed({ sink: name, partition: Partition.format(request.partition), reason: invalid })
        )
      }
      const { range, rows, signals } = request
      const inRange = (t: number) => t >= range.start && t < range.end
      // Build the next state aside, then swap: a load is all or nothing.
      const next = new Map(state)
      for (const signal of signals) {
        next.set(signal, new Map([...(state.get(signal) ?? [])].filter(([t]) => !inRange(t))))
      }
      for (let i = 0; i < rows.length; i++) {
        const signal = TidyRows.signalAt(rows, i)
        let series = next.get(signal)
        if (series === undefined || series === state.get(signal)) {
          series = new Map(series ?? [])
          next.set(signal, series)
        }
        series.set(rows.timestamps[i]!, rows.values[i]!)
      }
      let rowsDeleted = 0
      for (const signal of signals) {
        const after = next.get(signal)!
        for (const [t] of state.get(signal) ?? []) if (inRange(t) && !after.has(t)) rowsDeleted++
      }
      state = next
      return Effect.succeed({ rowsWritten: rows.length, rowsDeleted })
    })

  const rows = Effect.sync(() => {
    const out: Array<{ timestamp: number; signal: SignalName; value: number }> = []
    for (const [signal, series] of state)
      for (const [timestamp, value] of series) out.push({ timestamp, signal, value })
    out.sort((a, b) => a.timestamp - b.timestamp || (a.signal < b.signal ? -1 : a.signal > b.signal ? 1 : 0))
    return TidyRows.toArray(TidyRows.fromArray(out))
  })

  return { sink: Sink.of({ name, load }), memory: MemorySink.of({ rows }) }
}

/** A layer providing a memory `Sink` and its `MemorySink` handle. */
export const layer = (name?: string): Layer.Layer<Sink | MemorySink> =>
  Layer.effectContext(
    Effect.sync(() => {
      const { memory, sink } = make(name)
      return Context.make(Sink, sink).pipe(Context.add(MemorySink, memory))
    })
  )
