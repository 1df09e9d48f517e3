/**
 * A pipeline's partitions and their status: every day from the pipeline's start day to the last
 * complete day (yesterday, in its time zone) is missing, running, succeeded, empty or failed, as
 * the ledger says. The basis of status views, backfills and schedules.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { AssetId } from "./Asset.ts"
import { isAbandoned, Ledger, type LedgerError, type Run } from "./Ledger.ts"
import * as Partition from "./Partition.ts"
import * as Quality from "./Quality.ts"
import { Runner } from "./Runner.ts"

export type PartitionStatus = "missing" | "running" | "succeeded" | "degraded" | "empty" | "failed"

export const statuses: ReadonlyArray<PartitionStatus> = [
  "missing",
  "running",
  "succeeded",
  "degraded",
  "empty",
  "failed"
]

/** A pipeline as orchestration sees it: a name, its first day, its time zone, its assets (a fleet) if any. */
export interface Definition {
  readonly name: string
  readonly startDay: Partition.Day
  readonly timeZone: Partition.TimeZone
  /** The turbines it runs, each day one partition per asset; the default series alone when absent. */
  readonly assets?: ReadonlyArray<AssetId> | undefined
}

export interface PartitionState {
  readonly day: Partition.Day
  readonly timeZone: Partition.TimeZone
  readonly asset?: AssetId | undefined
  /** The latest run's status; a `running` run whose heartbeat went stale is `failed` (abandoned). */
  readonly status: PartitionStatus
  /** Runs so far (0 when missing). */
  readonly attempts: number
  readonly lastError: string | null
  readonly rowsWritten: number | null
  readonly rowsDeleted: number | null
  readonly durationMs: number | null
  readonly startedAt: string | null
  readonly finishedAt: string | null
  /** The worst severity among its latest quality findings; `null` without findings. */
  readonly quality: Quality.Severity | null
  /** Its latest quality findings (of the run that loaded it); empty without any. */
  readonly findings: ReadonlyArray<Quality.Finding>
}

/** The latest complete day in `timeZone` at `now` (epoch ms): yesterday there. */
export const lastCompleteDay = (timeZone: Partition.TimeZone, now: number): Partition.Day =>
  Partition.addDays(Partition.dayOf(now, timeZone), -1)

/** The partitions of a pipeline that are due at `now` (epoch ms): its start day to yesterday, both included. */
export const due = (definition: Definition, now: number): Array<Partition.Partition> =>
  Partition.forAssets(
    Partition.days(definition.startDay, lastCompleteDay(definition.timeZone, now)).map((day) => ({
      day,
      timeZone: definition.timeZone
    })),
    definition.assets
  )

const stateOf = (
  partition: Partition.Partition,
  run: Run | undefined,
  findings: ReadonlyArray<Quality.Finding> | undefined,
  now: number,
  staleAfter: number
): PartitionState => {
  const quality = findings === undefined ? null : Quality.worst(findings)
  const known = { quality, findings: findings ?? [] }
  if (run === undefined) {
    return {
      ...partition,
      ...known,
      status: "missing",
      attempts: 0,
      lastError: null,
      rowsWritten: null,
      rowsDeleted: null,
      durationMs: null,
      startedAt: null,
      finishedAt: null
    }
  }
  const abandoned = isAbandoned(run, now, staleAfter)
  return {
    ...partition,
    status: abandoned ? "failed" : run.status,
    attempts: run.attempt,
    lastError: abandoned
      ? `abandoned: ${run.runner ?? "its runner"} stopped without a result (no heartbeat since ${run.heartbeatAt})`
      : run.error,
    rowsWritten: run.rowsWritten,
    rowsDeleted: run.rowsDeleted,
    durationMs: run.finishedAt === null ? null : Date.parse(run.finishedAt) - Date.parse(run.startedAt),
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    ...known
  }
}

/**
 * The state of each partition (in the order given), from the ledger, at the `Clock`'s now; a run
 * is abandoned after the `Runner`'s `staleAfter` without a heartbeat.
 */
export const states = (
  pipeline: string,
  partitions: ReadonlyArray<Partition.Partition>
): Effect.Effect<Array<PartitionState>, LedgerError, Ledger> =>
  Effect.gen(function* () {
    if (partitions.length === 0) return []
    const ledger = yield* Ledger
    const { staleAfter } = yield* Runner
    const days = partitions.map((partition) => partition.day).sort()
    const span = { from: days[0], to: days[days.length - 1] }
    const runs = yield* ledger.history(pipeline, span)
    const latest = new Map(runs.map((run) => [Partition.key(run), run]))
    const quality = new Map(
      (yield* ledger.quality(pipeline, span)).map((entry) => [Partition.key(entry), entry.findings])
    )
    const now = yield* Clock.currentTimeMillis
    return partitions.map((partition) =>
      stateOf(partition, latest.get(Partition.key(partition)), quality.get(Partition.key(partition)), now, staleAfter)
    )
  })

/** How many partitions are in each status. */
export const count = (states: ReadonlyArray<PartitionState>): Record<PartitionStatus, number> => {
  const totals: Record<PartitionStatus, number> = {
    missing: 0,
    running: 0,
    succeeded: 0,
    degraded: 0,
    empty: 0,
    failed: 0
  }
  for (const state of states) totals[state.status]++
  return totals
}

/**
 * A day of a fleet at a glance: `complete` when every turbine-day is loaded (succeeded or
 * degraded), `partial` when some are and others are not (failed, empty, missing), `failed` when
 * none is loaded and some failed, `running` while one runs, `empty` or `missing` when all are.
 */
export type DayStatus = "complete" | "partial" | "failed" | "running" | "empty" | "missing"

export interface DayState {
  readonly day: Partition.Day
  readonly timeZone: Partition.TimeZone
  readonly status: DayStatus
  /** Its partitions by status. */
  readonly counts: Record<PartitionStatus, number>
  /** The worst quality severity of its partitions; `null` without findings. */
  readonly quality: Quality.Severity | null
  readonly partitions: ReadonlyArray<PartitionState>
}

/** What the statuses of one day's partitions make of the day. */
export const dayStatus = (counts: Record<PartitionStatus, number>): DayStatus => {
  const total = statuses.reduce((sum, status) => sum + counts[status], 0)
  const loaded = counts.succeeded + counts.degraded
  if (counts.running > 0) return "running"
  if (total > 0 && loaded === total) return "complete"
  if (loaded > 0) return "partial"
  if (counts.failed > 0) return "failed"
  if (counts.empty > 0) return "empty"
  return "missing"
}

const severityRank: Record<Quality.Severity, number> = { ok: 0, warn: 1, error: 2 }

/** Partition states grouped by day, in the order their days first come. */
export const byDay = (states: ReadonlyArray<PartitionState>): Array<DayState> => {
  const groups = new Map<string, Array<PartitionState>>()
  for (const state of states) {
    const key = `${state.timeZone}|${state.day}`
    let group = groups.get(key)
    if (group === undefined) groups.set(key, (group = []))
    group.push(state)
  }
  return [...groups.values()].map((partitions) => {
    const counts = count(partitions)
    let quality: Quality.Severity | null = null
    for (const state of partitions) {
      if (state.quality !== null && (quality === null || severityRank[state.quality] > severityRank[quality])) {
        quality = state.quality
      }
    }
    return {
      day: partitions[0]!.day,
      timeZone: partitions[0]!.timeZone,
      status: dayStatus(counts),
      counts,
      quality,
      partitions
    }
  })
}
