/**
 * What is worth another attempt and what is not: a URL the source cannot read from fails before
 * any request; a 4xx is final except 408, 425 and 429; and no message shows a password.
 */
import { Partition, Signal } from "@delfos/etl"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import * as HttpSource from "../src/HttpSource.ts"
import { minuteRows, sendJson, sensors, serve } from "./SensorsServer.ts"

const day = Partition.makeUnsafe("2024-01-01")
const range = Partition.range(day)
const rows = minuteRows(range.start, range.end + 60_000)
const quick = { retries: 2, backoff: "10 millis", timeout: "2 seconds" } as const

const extract = (options: HttpSource.HttpSourceOptions) =>
  Effect.gen(function* () {
    const source = yield* HttpSource.make(options)
    return yield* Stream.runCollect(source.extract({ partition: day, range, variables: Signal.defaultVariables }))
  }).pipe(Effect.provide(FetchHttpClient.layer))

describe("HttpSource: permanent and transient failures", () => {
  it.effect("refuses an API root without http(s), without a host, or with credentials, naming no password", () =>
    Effect.gen(function* () {
      for (const [baseUrl, reason] of [
        ["localhost:8000/api/v1", /expected http:\/\/ or https:\/\//],
        ["ftp://fonte.example/api/v1", /expected http:\/\/ or https:\/\//],
        ["not a url", /expected a URL such as/],
        ["http://alvo:hunter2@fonte.example/api/v1", /credentials in the URL are not supported/]
      ] as const) {
        const error = yield* Effect.flip(extract({ ...quick, baseUrl }))
        expect(error._tag).toBe("InvalidSourceUrl")
        expect(error.message).toMatch(reason)
        expect(error.message).not.toContain("hunter2")
      }
      // The layer fails as it is built: a pipeline never starts on such a source.
      const exit = yield* Effect.exit(
        Layer.build(HttpSource.layer({ baseUrl: "ftp://fonte.example" })).pipe(Effect.scoped)
      )
      expect(Exit.isFailure(exit)).toBe(true)
    })
  )

  it.live("400, 401, 403 and 404 are final: one request, SourceRejected", () =>
    Effect.gen(function* () {
      for (const status of [400, 401, 403, 404]) {
        const server = yield* serve((_request, response) => sendJson(response, status, { detail: `status ${status}` }))
        const error = yield* Effect.flip(extract({ ...quick, baseUrl: server.baseUrl }))
        expect(error).toMatchObject({ _tag: "SourceRejected", status, detail: `status ${status}` })
        expect(server.requests.length).toBe(1)
      }
    })
  )

  it.live("408, 425 and 429 are transient: retried, and the next answer is used", () =>
    Effect.gen(function* () {
      for (const status of [408, 425, 429]) {
        const server = yield* serve((request, response, attempt) =>
          attempt === 1 ? sendJson(response, status, { detail: "later" }) : sensors(rows)(request, response, attempt)
        )
        const frames = yield* extract({ ...quick, baseUrl: server.baseUrl })
        expect(frames.reduce((total, frame) => total + frame.length, 0)).toBe(1440)
        expect(server.requests.length).toBe(2)
      }
    })
  )

  it.live("the same statuses until the retries run out: SourceUnavailable after every attempt", () =>
    Effect.gen(function* () {
      const server = yield* serve((_request, response) => sendJson(response, 408, { detail: "request timeout" }))
      const error = yield* Effect.flip(extract({ ...quick, baseUrl: server.baseUrl }))
      expect(error).toMatchObject({ _tag: "SourceUnavailable", status: 408 })
      expect(server.requests.length).toBe(3)
    })
  )
})
