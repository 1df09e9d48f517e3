/**
 * Extracting a year from the fonte server: 365 daily partitions through `HttpSource` with
 * concurrency 1 and 4, decoded into frames. The fonte runs in this process on local Postgres
 * (DATABASE_URL names the server; the bench creates and drops its own database).
 * Run: `node bench/range.bench.ts` from packages/source-http.
 */
import { Partition, Signal, Source } from "@delfos/etl"
import { TestFonte } from "@delfos/test-utils"
import { Effect, Stream } from "effect"
import * as HttpSource from "../src/HttpSource.ts"

const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
// The fonte on a fresh database of its own on that server (dropped at the end), seeded with 2023.
const fonte = await TestFonte.start({ startDate: "2023-01-01", days: 365 }, { serverUrl: admin })
try {
  const partitions = await Effect.runPromise(Partition.parseRange("2023-01-01", "2023-12-31"))

  const extractAll = (concurrency: number) =>
    Effect.gen(function* () {
      const source = yield* Source.Source
      return yield* Stream.fromIterable(partitions).pipe(
        Stream.mapEffect(
          (partition) =>
            Stream.runFold(
              source.extract({ partition, range: Partition.range(partition), variables: Signal.defaultVariables }),
              () => 0,
              (n, frame) => n + frame.length
            ),
          { concurrency }
        ),
        Stream.runFold(
          () => 0,
          (total, n) => total + n
        )
      )
    }).pipe(Effect.provide(HttpSource.layer({ baseUrl: fonte.apiUrl })))

  await Effect.runPromise(extractAll(4))
  console.log("| concurrency | wall time | samples | samples/s |")
  console.log("|---:|---:|---:|---:|")
  for (const concurrency of [1, 4]) {
    const started = performance.now()
    const samples = await Effect.runPromise(extractAll(concurrency))
    const seconds = (performance.now() - started) / 1000
    console.log(`| ${concurrency} | ${seconds.toFixed(2)} s | ${samples} | ${(samples / seconds / 1000).toFixed(0)}k |`)
  }
} finally {
  await fonte.close()
}
