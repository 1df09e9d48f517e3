import { Partition, Signal } from "@delfos/etl"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { FetchHttpClient } from "effect/http"
import * as HttpSource from "../src/HttpSource.ts"

describe("HttpSource", () => {
  it("asks for a partition from its first instant to the next midnight, with one metrics per variable", () => {
    const url = new URL(
      HttpSource.requestUrl(
        "http://fonte/api/v1/sensors",
        Partition.range(Partition.makeUnsafe("2024-02-29")),
        Signal.knownVariables
      )
    )
    expect(url.pathname).toBe("/api/v1/sensors")
    expect([...url.searchParams]).toEqual([
      ["start_date", "2024-02-29T00:00:00"],
      ["end_date", "2024-03-01T00:00:00"],
      ["metrics", "wind_speed"],
      ["metrics", "power"],
      ["metrics", "ambient_temperature"]
    ])
    // A local day: its UTC instants, here a 23-hour DST day in Berlin.
    const berlin = new URL(
      HttpSource.requestUrl(
        "http://fonte/sensors",
        Partition.range(Partition.makeUnsafe("2024-03-31", "Europe/Berlin")),
        []
      )
    )
    expect(berlin.searchParams.get("start_date")).toBe("2024-03-30T23:00:00")
    expect(berlin.searchParams.get("end_date")).toBe("2024-03-31T22:00:00")
    expect(berlin.searchParams.has("metrics")).toBe(false)
  })

  it.effect(
    "is named after its endpoint: the reference's by default, a given base URL without its trailing slash",
    () =>
      Effect.gen(function* () {
        expect((yield* HttpSource.make()).name).toBe("http://localhost:8000/api/v1/sensors")
        expect((yield* HttpSource.make({ baseUrl: "https://fonte.example.com/api/v1/" })).name).toBe(
          "https://fonte.example.com/api/v1/sensors"
        )
      }).pipe(Effect.provide(FetchHttpClient.layer))
  )

  it.effect("refuses a negative or fractional number of retries", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(HttpSource.make({ retries: -1 }))
      expect(exit._tag).toBe("Failure")
      expect(String(exit)).toContain("retries must be a whole number")
    }).pipe(Effect.provide(FetchHttpClient.layer))
  )
})
