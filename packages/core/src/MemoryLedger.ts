/**
 * A `Ledger` in memory: for tests, demos and apps that keep run history themselves.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Ledger, type Run, runner } from "./Ledger.ts"
import * as Timestamp from "./Timestamp.ts"

/** A memory Ledger. */
export const make = (): Ledger["Service"] => {
  const runs: Array<Run> = []
  const key = (run: { pipeline: string; day: string; timeZone: string }) => `${run.pipeline}|${run.timeZone}|${run.day}`
  const update = (runId: number, change: Partial<Run>) =>
    Effect.sync(() => {
      const index = runs.findIndex((run) => run.id === runId)
      if (index >= 0) runs[index] = { ...runs[index]!, ...change, finishedAt: Timestamp.format(Date.now()) }
    })
  return Ledger.of({
    start: (pipeline, partition) =>
      Effect.sync(() => {
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
          startedAt: Timestamp.format(Date.now()),
          finishedAt: null,
          error: null,
          runner
        }
        runs.push(run)
        return run.id
      }),
    finish: (runId, report) =>
      update(runId, {
        status: report.status,
        samplesRead: report.samplesRead,
        rowsWritten: report.rowsWritten,
        rowsDeleted: report.rowsDeleted,
        error: report.error === undefined ? null : `${report.error.tag}: ${report.error.message}`
      }),
    fail: (runId, error) => update(runId, { status: "failed", error }),
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
