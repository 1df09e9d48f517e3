import { Asset, Partition, Partitions, Runner } from "@delfos/etl"
import { TestDatabase, TestFonte } from "@delfos/test-utils"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as References from "effect/References"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Schedule from "../src/Schedule.ts"
import {
  jobsOf,
  needsPostgres,
  type QueueDatabase,
  queueDatabase,
  runsOf,
  sleep,
  startWorker,
  waitFor
} from "./support.ts"

let db: QueueDatabase

const sourceUrl = "http://127.0.0.1:9/api/v1"
const yesterday = Partitions.lastCompleteDay(Partition.utc, Date.now())
/** `n` days before yesterday (0 is yesterday). */
const ago = (n: number) => Partition.addDays(yesterday, -n)
const definition = (name: string) => ({ name, startDay: ago(5), timeZone: Partition.utc })

const lastTick = async (pipeline: string) =>
  (
    await db.query<{ at: Date; by: string }>(
      `SELECT last_tick_at AS at, ticked_by AS by FROM etl_schedule WHERE pipeline = '${pipeline}'`
    )
  )[0]

describe("Schedule", () => {
  beforeAll(async () => {
    if (!TestDatabase.onPglite) db = await queueDatabase()
  }, 60_000)

  afterAll(async () => {
    await db?.release()
  })

  it.skipIf(TestDatabase.onPglite)(
    `a tick queues the missing and failed days since the start day and forces the lookback, yesterday included${needsPostgres}`,
    async () => {
      // ago(5) succeeded, ago(4) failed, ago(3) missing, ago(2) empty, ago(1) succeeded, yesterday missing.
      await db.query(
        `INSERT INTO etl_run (pipeline, partition_day, status, attempt, finished_at) VALUES
        ('ticked', '${ago(5)}', 'succeeded', 1, now()), ('ticked', '${ago(4)}', 'failed', 1, now()),
        ('ticked', '${ago(2)}', 'empty', 1, now()), ('ticked', '${ago(1)}', 'succeeded', 1, now())`
      )
      const at = new Date("2024-01-01T00:15:00Z")
      const result = await db.run(Schedule.tick(definition("ticked"), { sourceUrl, lookback: 2 }, at))
      expect(result).toEqual({
        _tag: "Queued",
        at,
        due: 6,
        planned: 4,
        skipped: 2,
        added: 4,
        alreadyQueued: 0,
        requeued: 0
      })
      expect((await jobsOf(db, "ticked")).map((job) => job.key.slice(-10))).toEqual([ago(4), ago(3), ago(1), ago(0)])
      expect((await lastTick("ticked"))?.at.toISOString()).toBe(at.toISOString())
    }
  )

  it.skipIf(TestDatabase.onPglite)(
    `a fleet's tick plans turbine-days from the ledger, forces every turbine of the lookback days, and queues them batchSize to a job${needsPostgres}`,
    async () => {
      // WTG01 succeeded on ago(2) and ago(1); everything else is missing.
      await db.query(
        `INSERT INTO etl_run (pipeline, partition_day, asset, status, attempt, finished_at) VALUES
        ('farm-ticked', '${ago(2)}', 'WTG01', 'succeeded', 1, now()),
        ('farm-ticked', '${ago(1)}', 'WTG01', 'succeeded', 1, now())`
      )
      const farm = {
        name: "farm-ticked",
        startDay: ago(2),
        timeZone: Partition.utc,
        assets: ["WTG01", "WTG02", "WTG03"].map((asset) => Asset.AssetId.make(asset))
      }
      const at = new Date("2024-01-01T00:15:00Z")
      const result = await db.run(Schedule.tick(farm, { sourceUrl, lookback: 2, batchSize: 2 }, at))
      // 3 days × 3 turbines due; ago(2) WTG01 is done and not in the lookback, ago(1) WTG01 is forced.
      expect(result).toEqual({
        _tag: "Queued",
        at,
        due: 9,
        planned: 8,
        skipped: 1,
        added: 8,
        alreadyQueued: 0,
        requeued: 0
      })
      expect((await jobsOf(db, "farm-ticked")).map((job) => job.key)).toEqual([
        `farm-ticked:UTC:${ago(2)}:WTG02,WTG03`,
        `farm-ticked:UTC:${ago(1)}:WTG01,WTG02`,
        `farm-ticked:UTC:${ago(1)}:WTG03`,
        `farm-ticked:UTC:${ago(0)}:WTG01,WTG02`,
        `farm-ticked:UTC:${ago(0)}:WTG03`
      ])
    }
  )

  it.skipIf(TestDatabase.onPglite)(
    `workers carrying the same schedule queue each tick once; an earlier tick than the last is not queued${needsPostgres}`,
    async () => {
      const tick = (at: string, worker: string) =>
        Schedule.tick(definition("shared"), { sourceUrl }, new Date(at)).pipe(
          Effect.provideService(Runner.Runner, { ...Runner.defaults, id: worker })
        )
      const [a, b] = await db.run(
        Effect.all([tick("2024-01-02T00:15:00Z", "pool-a"), tick("2024-01-02T00:15:00Z", "pool-b")], {
          concurrency: 2
        })
      )
      expect([a!._tag, b!._tag].sort()).toEqual(["AlreadyQueued", "Queued"])
      expect((await lastTick("shared"))?.by).toBe(a!._tag === "Queued" ? "pool-a" : "pool-b")
      expect((await db.run(tick("2024-01-01T00:15:00Z", "pool-c")))._tag).toBe("AlreadyQueued")
      expect((await db.run(tick("2024-01-03T00:15:00Z", "pool-c")))._tag).toBe("Queued")
      expect((await lastTick("shared"))?.by).toBe("pool-c")
    }
  )

  it.skipIf(TestDatabase.onPglite)(
    `run: two workers on a cron every 2 seconds make up the latest tick at start, then queue each tick once${needsPostgres}`,
    async () => {
      const messages: Array<string> = []
      const collect = Logger.layer([
        Logger.make(({ message }) => {
          messages.push(Array.isArray(message) ? message.join(" ") : String(message))
        })
      ])
      const debug = Layer.succeed(References.MinimumLogLevel, "Debug")
      const schedule = (worker: string) =>
        Schedule.run(definition("every2s"), { sourceUrl, cron: "*/2 * * * * *" }).pipe(
          Effect.provideService(Runner.Runner, { ...Runner.defaults, id: worker }),
          Effect.provide(Layer.merge(collect, debug))
        )
      const fibers = await db.run(Effect.all([Effect.forkDetach(schedule("a")), Effect.forkDetach(schedule("b"))]))
      await sleep(5_000)
      await Effect.runPromise(Fiber.interruptAll(fibers))

      const queued = messages.filter((message) => / tick at \S+: /.test(message))
      const others = messages.filter((message) => message.includes("was queued by another worker"))
      expect(queued.length + others.length).toBe(messages.length)
      const ticks = queued.map((message) => / tick at (\S+):/.exec(message)![1]!)
      // The catch-up at start and two or three ticks in five seconds, each queued by one of the two;
      // the other found it queued.
      expect(ticks.length).toBeGreaterThanOrEqual(3)
      expect(new Set(ticks).size).toBe(ticks.length)
      const seen = others.map((message) => / the tick at (\S+) was/.exec(message)![1]!)
      expect(seen.every((at) => ticks.includes(at))).toBe(true)
      expect(seen.length).toBeGreaterThanOrEqual(ticks.length - 1)
      // The first: all six days due, none run yet; then nothing new but the lookback, already queued.
      expect(queued[0]).toContain("6 days due, 6 to run (6 queued, 0 already queued, 0 requeued)")
      expect(queued.at(-1)).toContain("6 days due, 6 to run (0 queued, 6 already queued, 0 requeued)")
      expect(ticks.slice(1).every((at) => new Date(at).getTime() % 2_000 === 0)).toBe(true)
      expect((await lastTick("every2s"))!.at.getTime()).toBeGreaterThanOrEqual(new Date(ticks.at(-1)!).getTime())
    },
    30_000
  )

  it.skipIf(TestDatabase.onPglite)(
    `workers carrying a schedule queue its ticks and run them${needsPostgres}`,
    async () => {
      // The jobs queued above read no fonte: the workers must not spend the test on them.
      await db.query("DELETE FROM graphile_worker._private_jobs")
      // A fonte with no data: each day ends `empty`, which is not a failure.
      const fonte = await TestFonte.start()
      const schedule = {
        definition: definition("carried"),
        options: { sourceUrl: fonte.apiUrl, cron: "0 0 * * *", lookback: 1 }
      }
      const workers = await Promise.all(
        [1, 2].map(() => startWorker({ databaseUrl: db.url, pollInterval: 100, schedule }))
      )
      try {
        await waitFor(
          "the catch-up tick's six days to run",
          async () => (await runsOf(db, "carried")).filter((run) => run.status !== "running").length === 6,
          20_000
        )
        expect((await runsOf(db, "carried")).map((run) => [run.day, run.status])).toEqual(
          [5, 4, 3, 2, 1, 0].map((n) => [ago(n), "empty"])
        )
        const tick = await lastTick("carried")
        expect(workers.map((worker) => worker.id)).toContain(tick?.by)
        // Midnight UTC today: the latest tick of "0 0 * * *", made up at start.
        expect(tick?.at.toISOString()).toBe(`${Partition.addDays(yesterday, 1)}T00:00:00.000Z`)
      } finally {
        await Promise.all(workers.map((worker) => worker.stop()))
        await fonte.close()
      }
    },
    30_000
  )
})
