// The contract kit on the HTTP source: over a small server of the fixture, and over the real fonte
// server seeded with it through its API.
import { Timestamp } from "@delfos/etl"
import { SourceContract } from "@delfos/etl-contract"
import { TestFonte } from "@delfos/test-utils"
import { Effect, Layer } from "effect"
import * as HttpSource from "../src/HttpSource.ts"
import { closedPort, sendJson, sensors, serve } from "./SensorsServer.ts"

// The API's rows: naive UTC timestamps.
const apiRows = (fixture: SourceContract.Fixture) =>
  fixture.rows.map((row) => ({ ...row, timestamp: Timestamp.formatNaive(Timestamp.parse(row.timestamp)) }))

const quick = { retries: 0, timeout: "5 seconds" } as const

/** HttpSource over a server that answers every request with `handler`. */
const over = (handler: Parameters<typeof serve>[0]) =>
  Layer.unwrap(Effect.map(serve(handler), (served) => HttpSource.layer({ ...quick, baseUrl: served.baseUrl })))

const failures = {
  "the server is down": Layer.unwrap(
    Effect.map(closedPort, (port) => HttpSource.layer({ ...quick, baseUrl: `http://127.0.0.1:${port}/api/v1` }))
  ),
  "the server refuses the request (404)": over((_, response) => sendJson(response, 404, { detail: "Not Found" })),
  "the server answers 500": over((_, response) => sendJson(response, 500, { detail: "database is down" })),
  "the server answers malformed JSON": over((_, response) =>
    sendJson(response, 200, '[{"timestamp": "2024-01-01T00:00:00", "wind_')
  ),
  "the server answers a row without a timestamp": over((_, response) =>
    sendJson(response, 200, [{ wind_speed: 1, power: 2, ambient_temperature: 3 }])
  )
}

SourceContract.run("HttpSource over a server of the fixture", (fixture) => over(sensors(apiRows(fixture))), {
  failures
})

/** The real fonte server on a database of its own, each fixture sample posted to it. */
const seededFonte = (fixture: SourceContract.Fixture) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const fonte = yield* Effect.acquireRelease(
        Effect.promise(() => TestFonte.start()),
        (fonte) => Effect.promise(() => fonte.close())
      )
      yield* Effect.forEach(
        apiRows(fixture),
        (row) =>
          Effect.promise(async () => {
            const response = await fetch(`${fonte.apiUrl}/sensors`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify(row)
            })
            if (response.status !== 201)
              throw new Error(`POST ${row.timestamp}: ${response.status} ${await response.text()}`)
          }),
        { concurrency: 4, discard: true }
      )
      return HttpSource.layer({ ...quick, baseUrl: fonte.apiUrl })
    })
  )

SourceContract.run("HttpSource over the fonte server", seededFonte, { timeout: 120_000 })
