/**
 * A custom Sink: tidy rows as NDJSON on stdout, one JSON object a line, ready for `jq` or a log
 * shipper. The source is in memory (two days of synthetic minutes).
 * Run: `npm run ndjson-sink -w examples` (after `npm run build`).
 */
import { MemorySource, Partition, Pipeline, SampleFrame, Sink, TidyRows, Timestamp } from "@delfos/etl"
import { Effect, Layer } from "effect"

// `| head` closing the pipe early is not an error for a stream of lines.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0)
  throw error
})

const ndjsonSink = Sink.Sink.of({
  name: "stdout",
  // A stream has nothing to replace: every load appends, and nothing is ever stale.
  load: ({ rows }) =>
    Effect.sync(() => {
      let text = ""
      for (let i = 0; i < rows.length; i++) {
        text += `${JSON.stringify({ timestamp: Timestamp.format(rows.timestamps[i]!), signal: TidyRows.signalAt(rows, i), value: rows.values[i] })}\n`
      }
      process.stdout.write(text)
      return { rowsWritten: rows.length, rowsDeleted: 0 }
    })
})

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
  process.stderr.write(`${reports.map((report) => `${report.day}: ${report.rowsWritten} rows`).join(", ")}\n`)
})

Effect.runPromise(
  program.pipe(Effect.provide(Layer.merge(MemorySource.layer(samples), Layer.succeed(Sink.Sink, ndjsonSink))))
)
