/**
 * A custom Source: samples from a CSV file (`timestamp,wind_speed,power,...`, one row a minute),
 * read in chunks into columnar frames, resampled into a memory sink. It keeps the Source contract
 * (checked by `@delfos/etl-contract` in test/contract.test.ts): the samples of the partition's
 * range and nothing else, the variables asked for, a `SourceError` when the file cannot be read.
 * Run: `npm run csv-source -w examples` (after `npm run build`).
 */
import { createReadStream } from "node:fs"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { MemorySink, Partition, Pipeline, SampleFrame, Signal, Source, Timestamp } from "@delfos/etl"
import { Effect, Layer, Stream } from "effect"

/** Reads the CSV a chunk of `size` rows at a time; an unreadable row fails with the row and field. */
export const csvSource = (path: string, size = 500) =>
  Source.Source.of({
    name: path,
    extract: ({ range, variables }) =>
      Stream.suspend(() => {
        const lines = createInterface({ input: createReadStream(path) })
        let header: Array<string> | undefined
        let row = 0
        return Stream.fromAsyncIterable(
          lines,
          (cause) => new Source.SourceUnavailable({ source: path, reason: String(cause) })
        ).pipe(
          Stream.filter((line) => {
            if (header === undefined) {
              header = line.split(",")
              return false
            }
            return line.trim() !== ""
          }),
          Stream.grouped(size),
          Stream.mapEffect((chunk) =>
            Effect.try({
              try: () => {
                const timestamps = new Float64Array(chunk.length)
                const columns = variables.map(() => new Float64Array(chunk.length))
                const positions = variables.map((variable) => header!.indexOf(variable))
                let kept = 0
                for (const line of chunk) {
                  row++
                  const cells = line.split(",")
                  const t = Timestamp.parse(cells[0] ?? "")
                  if (Number.isNaN(t)) throw new Error(`row ${row}: timestamp "${cells[0]}"`)
                  // The file may hold other days: only the partition's samples go on.
                  if (t < range.start || t >= range.end) continue
                  timestamps[kept] = t
                  positions.forEach((at, v) => {
                    const cell = at < 0 ? "" : (cells[at] ?? "")
                    columns[v]![kept] = cell === "" ? Number.NaN : Number(cell)
                  })
                  kept++
                }
                const frame = SampleFrame.make(
                  timestamps,
                  Object.fromEntries(variables.map((variable, v) => [variable, columns[v]!]))
                )
                return SampleFrame.slice(frame, 0, kept)
              },
              catch: (error) => new Source.SourceInvalidData({ source: path, reason: (error as Error).message })
            })
          )
        )
      })
  })

if (import.meta.main) {
  const file = join(import.meta.dirname, "data", "turbine-2024-01-01.csv")

  const program = Effect.gen(function* () {
    const report = yield* Pipeline.run(Partition.makeUnsafe("2024-01-01"), { variables: Signal.knownVariables })
    console.log(
      `${report.day}: ${report.samplesRead} samples from the CSV -> ${report.windows} windows -> ${report.rowsWritten} rows`
    )
    const rows = yield* (yield* MemorySink.MemorySink).rows
    console.table(rows.filter((row) => row.timestamp === "2024-01-01T12:00:00.000Z"))
  })

  Effect.runPromise(
    program.pipe(Effect.provide(Layer.merge(Layer.succeed(Source.Source, csvSource(file)), MemorySink.layer())))
  )
}
