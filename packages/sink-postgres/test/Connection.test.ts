import { Sink } from "@delfos/etl"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { Connection, PostgresSink } from "../src/index.ts"

describe("Connection", () => {
  it("describes a URL without user or password", () => {
    expect(Connection.describe("postgres://alvo:hunter2@db.example:6543/alvo?sslmode=require")).toBe(
      "postgres://db.example:6543/alvo"
    )
    expect(Connection.describe(Redacted.make("postgresql://alvo@localhost/alvo"))).toBe(
      "postgresql://localhost:5432/alvo"
    )
    expect(Connection.describe("not a url with hunter2")).toBe("postgres")
  })

  it.effect("an unreachable database fails the sink's layer with SinkUnavailable, and shows no password", () =>
    Effect.gen(function* () {
      const error = yield* Layer.build(
        PostgresSink.layer({ url: "postgres://alvo:hunter2@127.0.0.1:1/alvo", connectTimeout: "2 seconds" })
      ).pipe(Effect.scoped, Effect.flip)
      expect(error).toBeInstanceOf(Sink.SinkUnavailable)
      expect(error.sink).toBe("postgres://127.0.0.1:1/alvo")
      expect(error.reason).toMatch(/ECONNREFUSED/)
      expect(error.message).not.toContain("hunter2")
      expect(JSON.stringify(error)).not.toContain("hunter2")
    })
  )

  it.effect("no URL and no DATABASE_URL is SinkUnavailable that says so", () =>
    Effect.gen(function* () {
      const saved = process.env.DATABASE_URL
      delete process.env.DATABASE_URL
      const error = yield* Connection.url().pipe(
        Effect.flip,
        Effect.ensuring(
          Effect.sync(() => {
            if (saved !== undefined) process.env.DATABASE_URL = saved
          })
        )
      )
      expect(error.reason).toMatch(/DATABASE_URL/)
    })
  )
})
