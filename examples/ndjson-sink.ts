/**
 * A custom Sink: tidy rows in an NDJSON file, one JSON object a line, ready for `jq`. It keeps the
 * Sink contract (checked by `@delfos/etl-contract` in test/contract.test.ts): a load replaces the
 * rows of its signals within its range, so a re-run leaves no stale or doubled row, and the file is
 * replaced whole through a temporary file and a rename, so a failed load leaves it as it was. Loads
 * take turns; one process writes the file. The source is in memory (two days of synthetic minutes).
 * Run: `npm run ndjson-sink -w examples [-- rows.ndjson]` (after `npm run build`).
 */
import { readFile, rename, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { MemorySource, Partition, Pipeline, SampleFrame, Sink, TidyRows, Timestamp } from "@delfos/etl"
import { Effect, Layer, Semaphore } from "effect"

/** Every row of the file (none before the first load), in its order. */
export const readRows = (path: string): Promise<Array<TidyRows.TidyRow>> =>
  readFile(path, "utf8").then(
    (text) =>
      text
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line)),
    (error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? [] : Promise.reject(error))
  )

const key = (row: TidyRows.TidyRow) => `${row.timestamp} ${row.signal}`

/** A Sink writing every row to the NDJSON file at `path`, by timestamp then signal. */
export const layer = (path: string): Layer.Layer<Sink.Sink> =>
  Layer.effect(
    Sink.Sink,
    Effect.gen(function* () {
      const turn = yield* Semaphore.make(1)

      const replace = async (request: Sink.LoadRequest): Promise<Sink.LoadResult> => {
        const { range } = request
        const owned = new Set<string>(request.signals)
        const replaced = (row: TidyRows.TidyRow) => {
          const t = Timestamp.parse(row.timestamp)
          return owned.has(row.signal) && t >= range.start && t < range.end
        }
        const before = await readRows(path)
        const rows = TidyRows.toArray(request.rows)
        const loaded = new Set(rows.map(key))
        const after = [...before.filter((row) => !replaced(row)), ...rows].sort((a, b) =>
          key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0
        )
        await writeFile(`${path}.tmp`, after.map((row) => `${JSON.stringify(row)}\n`).join(""))
        await rename(`${path}.tmp`, path)
        const rowsDeleted = before.filter((row) => replaced(row) && !loaded.has(key(row))).length
        return { rowsWritten: rows.length, rowsDeleted }
      }

      const load = (request: Sink.LoadRequest) => {
        const failed = (reason: string) =>
          new Sink.SinkLoadFailed({ sink: path, partition: Partition.format(request.partition), reason })
        // A NaN, a row outside the range or the signals: refused before the file is touched.
        const invalid = Sink.invalidRow(request)
        if (invalid !== undefined) return Effect.fail(failed(invalid))
        return Effect.tryPromise({ try: () => replace(request), catch: (error) => failed(String(error)) })
      }

      return Sink.Sink.of({ name: path, load: (request) => turn.withPermits(1)(load(request)) })
    })
  )

if (import.meta.main) {
  const path = process.argv[2] ?? join(tmpdir(), "delfos-rows.ndjson")

  const start = Date.parse("2024-01-01T00:00:00Z")
  const minutes = 2 * 1440
  const samples = SampleFrame.make(
    Float64Array.from({ length: minutes }, (_, i) => start + i * 60_000),
    {
      wind_speed: Float64Array.from({ length: minutes }, (_, i) => 7 + 3 * Math.sin(i / 60)),
      power: Float64Array.from({ length: minutes }, (_, i) => 2500 + 2000 * Math.sin(i / 60))
    }
  )

  const program = Effect.gen(function* () {
    const partitions = yield* Partition.parseRange("2024-01-01", "2024-01-02")
    const reports = yield* Pipeline.runAll(partitions, { statistics: ["mean", "max"] })
    // A re-run replaces the day's rows instead of adding them again.
    const again = yield* Pipeline.run(partitions[0]!, { statistics: ["mean", "max"] })
    for (const [i, report] of [...reports, again].entries()) {
      const day = i < reports.length ? report.day : `${report.day} again`
      console.log(`${day}: ${report.rowsWritten} rows written, ${report.rowsDeleted} deleted`)
    }
    const rows = yield* Effect.promise(() => readRows(path))
    console.log(`${path}: ${rows.length} rows (jq -c . ${path} | head)`)
  })

  Effect.runPromise(program.pipe(Effect.provide(Layer.merge(MemorySource.layer(samples), layer(path)))))
}
