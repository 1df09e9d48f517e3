/**
 * A `Ledger` in memory: for tests, demos and apps that keep run history themselves. Its times come
 * from Effect's `Clock`, so a test's `TestClock` drives heartbeats and staleness.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Ledger, LedgerError, type Run } from "./Ledger.ts"
import * as Timestamp from "./Timestamp.ts"

/** A memory Ledger. */
export const make = (): Ledger["Service"] => {
  const runs: Array<Run> = []
  const key = (run: { pipeline: string; day: string; timeZone: string }) => `${run.pipeline}|${run.timeZone}|${run.day}`
  const now = Effect.map(Clock.currentTimeMillis, Timestamp.format)
  const update = (operation: string, runId: number, change: (at: string, run: Run) => Partial<Run>) =>
    Effect.flatMap(now, (at) => {
      const index = runs.findIndex((run) => run.id === runId)
      if (index < 0)
        return Effect.fail(new LedgerError({ operation: `${operation} run ${runId}`, reason: "no such run" }))
      runs[index] = { ...runs[index]!, ...change(at, runs[index]!) }
      return Effect.void
    })
  return Ledger.of({
    start: (pipeline, partition, runner) =>
      Effect.map(now, (at) => {
        const previous = runs.filter((run) => key(run) === key({ pipeline, ...partition }))
        const run: Run = {
          id: runs.length + 1,
          pipeline,
          day: partition.day,
          timeZone: partition.timeZone,
          status: "running",
          attempt: previous.length + 1,
          samplesRead: null,
          rowsWritten: null,
          rowsDeleted: null,
          startedAt: at,
          finishedAt: null,
          heartbeatAt: at,
          error: null,
          runner
        }
        runs.push(run)
        return run.id
      }),
    // A late beat (it lost a race with the end) leaves a finished run as it is.
    heartbeat: (runId) =>
      update("heartbeat", runId, (at, run) => (run.status === "running" ? { heartbeatAt: at } : {})),
    finish: (runId, report) =>
      update("finish", runId, (at) => ({
        status: report.status,
        samplesRead: report.samplesRead,
        rowsWritten: report.rowsWritten,
        rowsDeleted: report.rowsDeleted,
        finishedAt: at,
        heartbeatAt: at,
        error: report.error === undefined ? null : `${report.error.tag}: ${report.error.message}`
      })),
    fail: (runId, error) =>
      update("fail", runId, (at) => ({ status: "failed", finishedAt: at, heartbeatAt: at, error })),
    history: (pipeline, options = {}) =>
      Effect.sync(() => {
        const latest = new Map<string, Run>()
        for (const run of runs) {
          if (run.pipeline !== pipeline) continue
          if (options.from !== undefined && run.day < options.from) continue
          if (options.to !== undefined && run.day > options.to) continue
          latest.set(key(run), run)
        }
        return [...latest.values()].sort((a, b) =>
          a.day < b.day ? -1 : a.day > b.day ? 1 : a.timeZone < b.timeZone ? -1 : 1
        )
      }),
    runs: (pipeline, partition) => Effect.sync(() => runs.filter((run) => key(run) === key({ pipeline, ...partition })))
  })
}

/** A layer providing a fresh memory `Ledger`. */
export const layer = (): Layer.Layer<Ledger> => Layer.sync(Ledger, make)
