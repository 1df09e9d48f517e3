/**
 * A `Ledger` in memory: for tests, demos and apps that keep run history themselves. Its times come
 * from Effect's `Clock`, so a test's `TestClock` drives heartbeats and staleness.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Ledger, LedgerError, type PartitionQuality, type Run } from "./Ledger.ts"
import * as Partition from "./Partition.ts"
import { partitionOf } from "./RunReport.ts"
import * as Timestamp from "./Timestamp.ts"

/** A memory Ledger. */
export const make = (): Ledger["Service"] => {
  const runs: Array<Run> = []
  const findings = new Map<string, PartitionQuality>()
  const key = (run: { pipeline: string } & Partition.PartitionLike) => `${run.pipeline}|${Partition.key(run)}`
  const now = Effect.map(Clock.currentTimeMillis, Timestamp.format)
  const update = (
    operation: string,
    runIds: ReadonlyArray<number>,
    change: (at: string, runId: number, run: Run) => Partial<Run>
  ) =>
    Effect.flatMap(now, (at) => {
      const indexes = runIds.map((runId) => runs.findIndex((run) => run.id === runId))
      const missing = runIds.filter((_, i) => indexes[i]! < 0)
      if (missing.length > 0) {
        return Effect.fail(
          new LedgerError({ operation: `${operation} run ${missing.join(", ")}`, reason: "no such run" })
        )
      }
      indexes.forEach((index, i) => {
        runs[index] = { ...runs[index]!, ...change(at, runIds[i]!, runs[index]!) }
      })
      return Effect.void
    })
  return Ledger.of({
    start: (pipeline, partitions, runner) =>
      Effect.map(now, (at) =>
        partitions.map((partition) => {
          const previous = runs.filter((run) => key(run) === key({ pipeline, ...partition }))
          const run: Run = {
            id: runs.length + 1,
            pipeline,
            day: partition.day,
            timeZone: partition.timeZone,
            ...(partition.asset === undefined ? {} : { asset: partition.asset }),
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
        })
      ),
    // A late beat (it lost a race with the end) leaves a finished run as it is.
    heartbeat: (runIds) =>
      update("heartbeat", runIds, (at, _runId, run) => (run.status === "running" ? { heartbeatAt: at } : {})),
    finish: (finished) => {
      const reports = new Map(finished.map(({ report, runId }) => [runId, report]))
      const record = Effect.sync(() => {
        for (const { report, runId } of finished) {
          if (report.quality === undefined) continue
          const partition = partitionOf(report)
          findings.set(key({ pipeline: report.pipeline, ...partition }), {
            ...partition,
            runId,
            findings: report.quality
          })
        }
      })
      return update(
        "finish",
        finished.map(({ runId }) => runId),
        (at, runId) => {
          const report = reports.get(runId)!
          return {
            status: report.status,
            samplesRead: report.samplesRead,
            rowsWritten: report.rowsWritten,
            rowsDeleted: report.rowsDeleted,
            finishedAt: at,
            heartbeatAt: at,
            error: report.error === undefined ? null : `${report.error.tag}: ${report.error.message}`
          }
        }
      ).pipe(Effect.andThen(record))
    },
    fail: (runIds, error) =>
      update("fail", runIds, (at) => ({ status: "failed", finishedAt: at, heartbeatAt: at, error })),
    history: (pipeline, options = {}) =>
      Effect.sync(() => {
        const latest = new Map<string, Run>()
        for (const run of runs) {
          if (run.pipeline !== pipeline) continue
          if (options.from !== undefined && run.day < options.from) continue
          if (options.to !== undefined && run.day > options.to) continue
          if (options.assets !== undefined && (run.asset === undefined || !options.assets.includes(run.asset))) continue
          latest.set(key(run), run)
        }
        return [...latest.values()].sort(Partition.compare)
      }),
    quality: (pipeline, options = {}) =>
      Effect.sync(() =>
        [...findings.entries()]
          .filter(([key, entry]) => {
            if (!key.startsWith(`${pipeline}|`)) return false
            if (options.from !== undefined && entry.day < options.from) return false
            if (options.to !== undefined && entry.day > options.to) return false
            return options.assets === undefined || (entry.asset !== undefined && options.assets.includes(entry.asset))
          })
          .map(([, entry]) => entry)
          .sort(Partition.compare)
      ),
    runs: (pipeline, partition) => Effect.sync(() => runs.filter((run) => key(run) === key({ pipeline, ...partition })))
  })
}

/** A layer providing a fresh memory `Ledger`. */
export const layer = (): Layer.Layer<Ledger> => Layer.sync(Ledger, make)
