// The contract kit on the examples' own Source and Sink, as a user would run it on theirs.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Source } from "@delfos/etl"
import { SinkContract, SourceContract } from "@delfos/etl-contract"
import { Effect, Layer } from "effect"
import { afterAll } from "vitest"
import { csvSource } from "../csv-source.ts"
import * as NdjsonSink from "../ndjson-sink.ts"

const scratch = mkdtempSync(join(tmpdir(), "delfos-contract-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const rowsFile = join(scratch, "rows.ndjson")
SinkContract.run("the NDJSON example sink", NdjsonSink.layer(rowsFile), {
  readRows: Effect.promise(() => NdjsonSink.readRows(rowsFile))
})

/** A CSV file of `lines` (a header first), and the example's source over it. */
const csv = (name: string, lines: ReadonlyArray<string>) => {
  const path = join(scratch, name)
  writeFileSync(path, `${lines.join("\n")}\n`)
  return Layer.succeed(Source.Source, csvSource(path, 25))
}

SourceContract.run(
  "the CSV example source",
  (fixture) =>
    csv("fixture.csv", [
      "timestamp,wind_speed,power,ambient_temperature",
      ...fixture.rows.map((row) =>
        [row.timestamp, row.wind_speed, row.power, row.ambient_temperature].map((cell) => cell ?? "").join(",")
      )
    ]),
  {
    failures: {
      "the file does not exist": Layer.succeed(Source.Source, csvSource(join(scratch, "missing.csv"))),
      "a row's timestamp cannot be read": csv("bad.csv", [
        "timestamp,wind_speed",
        "2024-01-01T00:00:00Z,1",
        "yesterday,2"
      ])
    }
  }
)
