/**
 * A programmatic pipeline with no server and no database: two days of synthetic minute samples
 * in a memory source, resampled to 10-minute statistics into a memory sink.
 * Run: `npm run example` from the repository root.
 */
import { MemorySink, MemorySource, Partition, Pipeline, SampleFrame, type Signal } from "@delfos/etl"
import { Effect, Layer } from "effect"

// Two days of 1-minute samples: a gusty wind, the power a 5 MW turbine makes from it, a few gaps.
const minutes = 2 * 1440
const start = Date.parse("2024-01-01T00:00:00Z")
const timestamps = Float64Array.from({ length: minutes }, (_, i) => start + i * 60_000)
const wind = Float64Array.from({ length: minutes }, (_, i) => 8 + 3 * Math.sin(i / 45) + Math.sin(i / 7))
const power = Float64Array.from(wind, (v, i) =>
  i % 211 === 0 ? Number.NaN : v < 3 ? 0 : v >= 12 ? 5000 : 5000 * ((v - 3) / 9) ** 3
)
const samples = SampleFrame.make(timestamps, { wind_speed: wind, power })

const program = Effect.gen(function* () {
  const partitions = yield* Partition.parseRange("2024-01-01", "2024-01-02")
  const reports = yield* Pipeline.runAll(partitions, { concurrency: 2 })
  for (const report of reports) {
    console.log(
      `${report.day}: ${report.status}, ${report.samplesRead} samples -> ${report.windows} windows -> ${report.rowsWritten} rows`
    )
  }
  const rows = yield* (yield* MemorySink.MemorySink).rows
  console.log("\nThe first 10-minute rows:")
  console.table(rows.slice(0, 8).map((row) => ({ ...row, value: Number(row.value.toFixed(3)) })))
  const signals = new Set<Signal.SignalName>(rows.map((row) => row.signal))
  console.log(`${rows.length} rows in ${signals.size} signals: ${[...signals].join(", ")}`)
})

Effect.runPromise(program.pipe(Effect.provide(Layer.merge(MemorySource.layer(samples), MemorySink.layer()))))
