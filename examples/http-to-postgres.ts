/**
 * The reference job as a program: the fonte HTTP API in, Postgres out, one day.
 * With SOURCE_API_URL it reads that server; without, it starts an embedded fonte and seeds it.
 * With DATABASE_URL it writes there; without, into an embedded database.
 * Run: `npm run http-to-postgres -w examples` (after `npm run build`).
 */
import { Ledger, Partition, Pipeline, type Sink } from "@delfos/etl"
import { PostgresSink, RunLedger } from "@delfos/etl-sink-postgres"
import { HttpSource } from "@delfos/etl-source-http"
import { FonteClient, Server } from "@delfos/fonte"
import { EmbeddedPostgres } from "@delfos/postgres"
import { Effect, Layer } from "effect"

const day = "2024-01-01"

/** The fonte API to read: SOURCE_API_URL, or an embedded server seeded with the day. */
const fonteUrl = Effect.acquireRelease(
  Effect.promise(async () => {
    const given = process.env.SOURCE_API_URL
    if (given !== undefined) return { url: given, close: async () => {} }
    const fonte = await Server.createFonteServer({ port: 0 })
    await FonteClient.populatePromise(fonte.url, { startDate: day, days: 1 })
    return { url: `${fonte.url}/api/v1`, close: fonte.close }
  }),
  (fonte) => Effect.promise(fonte.close)
)

/** The target: DATABASE_URL, or an embedded database (one connection). */
const target: Layer.Layer<Sink.Sink | Ledger.Ledger, unknown> =
  process.env.DATABASE_URL !== undefined
    ? PostgresSink.layerWithLedger({ url: process.env.DATABASE_URL })
    : Layer.mergeAll(PostgresSink.layerFromClient(), RunLedger.layerFromClient).pipe(
        Layer.provide(EmbeddedPostgres.layerClient())
      )

const program = Effect.gen(function* () {
  const { url } = yield* fonteUrl
  const partition = yield* Partition.parse(day)
  const report = yield* Pipeline.runRecorded(partition, { name: "example" }).pipe(
    Effect.provide(HttpSource.layer({ baseUrl: url }))
  )
  console.log(`${report.day}: ${report.status}, ${report.samplesRead} samples -> ${report.rowsWritten} rows`)
  const ledger = yield* Ledger.Ledger
  const runs = yield* ledger.runs("example", partition)
  console.log(`the ledger has ${runs.length} run(s) of ${day}, the last ${runs.at(-1)?.status}`)
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(target))).catch((error) => {
  console.error(String(error))
  process.exitCode = 1
})
