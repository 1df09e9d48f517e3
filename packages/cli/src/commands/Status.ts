/**
 * `delfos-etl status`: each day's latest run from the ledger, as a calendar with totals and the
 * last runs, or JSON. Without a range: the pipeline's days, as many weeks as fit the terminal,
 * ending with its latest run (it says how to see the rest).
 */
import { Asset, Ledger, Partition, Partitions } from "@delfos/etl"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Calendar from "../Calendar.ts"
import { execute } from "../Execute.ts"
import * as ExitCode from "../ExitCode.ts"
import { number, seconds } from "../Format.ts"
import * as Layers from "../Layers.ts"
import * as Progress from "../Progress.ts"
import * as Settings from "../Settings.ts"
import { note, out } from "./Run.ts"

export interface StatusFlags extends Settings.RawOptions {
  readonly from?: string | undefined
  readonly to?: string | undefined
  readonly turbine?: string | undefined
}

interface Bounds {
  readonly from: Partition.Day
  readonly to: Partition.Day
  /** The pipeline's days, when the range shown was cut to fit: how to see the rest. */
  readonly all?: { readonly first: Partition.Day; readonly last: Partition.Day } | undefined
}

/**
 * The days to show: `--from` to `--to` when given (`--to` is yesterday by default). Otherwise the
 * pipeline's days (from the start day, else its first run in the ledger) as far as the weeks that
 * fit `columns` go, ending with its latest run, or yesterday when that is in reach.
 */
const bounds = (
  settings: Settings.Settings,
  range: { readonly from?: Partition.Day | undefined; readonly to?: Partition.Day | undefined },
  columns: number
) =>
  Effect.gen(function* () {
    const yesterday = Partitions.lastCompleteDay(settings.timeZone, yield* Clock.currentTimeMillis)
    if (range.from !== undefined) return { from: range.from, to: range.to ?? yesterday } satisfies Bounds
    const runs = (yield* (yield* Ledger.Ledger).history(settings.pipeline, { to: range.to ?? yesterday })).filter(
      (run) => run.timeZone === settings.timeZone
    )
    const first = settings.startDay ?? runs[0]?.day
    if (first === undefined) return undefined
    const last = max(first, runs.at(-1)?.day ?? first)
    const weeks = Calendar.weeksThatFit(columns)
    // The last day a calendar starting at `first` has room for.
    const reach = Partition.addDays(first, -Partition.weekday(first) + weeks * 7 - 1)
    const to = range.to ?? (last <= reach ? max(last, min(yesterday, reach)) : last)
    const from = max(first, Partition.addDays(to, -Partition.weekday(to) - (weeks - 1) * 7))
    return { from, to, all: from > first || to < last ? { first, last } : undefined } satisfies Bounds
  })

const min = (a: Partition.Day, b: Partition.Day) => (a < b ? a : b)
const max = (a: Partition.Day, b: Partition.Day) => (a > b ? a : b)

/** Which partitions each day has: one turbine's, the listed turbines', every turbine the ledger knows, or the default series. */
const assetsOf = (
  settings: Settings.Settings,
  turbine: Asset.AssetId | undefined,
  shown: Bounds
): Effect.Effect<ReadonlyArray<Asset.AssetId> | undefined, unknown, Ledger.Ledger> =>
  Effect.gen(function* () {
    if (turbine !== undefined) return [turbine]
    if (Array.isArray(settings.assets)) return settings.assets
    const runs = yield* (yield* Ledger.Ledger).history(settings.pipeline, { from: shown.from, to: shown.to })
    const assets = [...new Set(runs.flatMap((run) => (run.asset === undefined ? [] : [run.asset])))]
    return assets.length === 0 ? undefined : assets.sort(Asset.compare)
  })

const lastRunLine = (state: Partitions.PartitionState): string => {
  const took = state.durationMs === null ? "" : seconds(state.durationMs)
  const detail =
    state.status === "failed"
      ? (state.lastError ?? "")
      : state.status === "empty"
        ? `no samples${(state.rowsDeleted ?? 0) > 0 ? `, ${number(state.rowsDeleted!)} earlier rows removed` : ", earlier rows kept"} ${took}`
        : `${state.rowsWritten === null ? "" : `${number(state.rowsWritten)} rows`} ${took}`.trim()
  return `  ${Partition.format(state)}  ${state.status.padEnd(9)}  attempt ${state.attempts}  ${state.startedAt!.slice(0, 19).replace("T", " ")}  ${detail}\n`
}

const severityRank = { ok: 0, warn: 1, error: 2 } as const

/** The partitions whose quality is worst (errors, then most flagged checks), with their reasons. */
const worstQuality = (states: ReadonlyArray<Partitions.PartitionState>, limit: number): Array<string> =>
  states
    .filter((state) => state.quality === "warn" || state.quality === "error")
    .map((state) => ({ state, flagged: state.findings.filter((finding) => finding.severity !== "ok") }))
    .sort(
      (a, b) =>
        severityRank[b.state.quality!] - severityRank[a.state.quality!] ||
        b.flagged.length - a.flagged.length ||
        Partition.compare(a.state, b.state)
    )
    .slice(0, limit)
    .map(
      ({ flagged, state }) =>
        `  ${Partition.format(state)}  ${state.quality!.padEnd(5)}  ${flagged.map(Progress.findingText).join("; ")}\n`
    )

export const program = (
  settings: Settings.Settings,
  range: { readonly from?: Partition.Day | undefined; readonly to?: Partition.Day | undefined },
  turbine: Asset.AssetId | undefined = undefined
): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* note(`${Layers.targetNote(settings)}\n`)
    const shown = yield* bounds(settings, range, Math.max(40, process.stdout.columns ?? 80))
    const assets = shown === undefined ? undefined : yield* assetsOf(settings, turbine, shown)
    const partitions =
      shown === undefined
        ? []
        : Partition.forAssets(
            Partition.days(shown.from, shown.to).map((day) => ({ day, timeZone: settings.timeZone })),
            assets
          )
    const states = yield* Partitions.states(settings.pipeline, partitions)
    if (settings.json) {
      yield* out(`${JSON.stringify(states, null, 2)}\n`)
      return ExitCode.success
    }
    if (shown === undefined || states.length === 0) {
      yield* out(`no runs recorded for pipeline "${settings.pipeline}" (give --from or --start-day to see a range)\n`)
      return ExitCode.success
    }
    const color = process.stdout.isTTY === true
    const fleet = assets !== undefined && turbine === undefined
    const whose = turbine !== undefined ? `, turbine ${turbine}` : fleet ? `, ${assets.length} turbines` : ""
    yield* out(`pipeline "${settings.pipeline}"${whose}, ${shown.from} to ${shown.to} (${settings.timeZone})\n\n`)
    const days = Partitions.byDay(states)
    const cells = fleet
      ? days.map((day) => ({ day: day.day, look: Calendar.dayCell(day) }))
      : states.map((state) => ({ day: state.day, look: Calendar.partitionCell(state) }))
    for (const line of Calendar.render(cells, color)) yield* out(`${line}\n`)
    if (fleet) {
      yield* out(`\n${Calendar.dayLegend(days, color)}  (${number(days.length)} days)\n`)
      const totals = Partitions.count(states)
      yield* out(
        `turbine-days: ${Partitions.statuses
          .filter((status) => totals[status] > 0)
          .map((status) => `${number(totals[status])} ${status}`)
          .join(", ")} (of ${number(states.length)})\n`
      )
    } else {
      yield* out(`\n${Calendar.partitionLegend(states, color)}  (${number(states.length)} days)\n`)
    }
    if (shown.all !== undefined) {
      yield* out(`(the pipeline's days: ${shown.all.first} to ${shown.all.last}; --from and --to show any range)\n`)
    }
    const failed = states.filter((state) => state.status === "failed")
    if (fleet && failed.length > 0) {
      yield* out(`\nfailed turbine-days (${number(failed.length)}; backfill --only failed runs them again):\n`)
      for (const state of failed.slice(0, 10)) yield* out(`  ${Partition.format(state)}  ${state.lastError ?? ""}\n`)
      if (failed.length > 10) yield* out(`  … and ${number(failed.length - 10)} more (--json lists all)\n`)
    }
    const worst = worstQuality(states, 8)
    if (worst.length > 0) {
      yield* out("\nworst quality:\n")
      for (const line of worst) yield* out(line)
    }
    const recent = states
      .filter((state) => state.startedAt !== null)
      .sort((a, b) => (a.startedAt! < b.startedAt! ? 1 : -1))
      .slice(0, 8)
    if (recent.length > 0) {
      yield* out("\nlast runs:\n")
      for (const state of recent) yield* out(lastRunLine(state))
    }
    return ExitCode.success
  }).pipe(Layers.provide(settings, Layers.target(settings)))

export const run = (flags: StatusFlags): Promise<number> =>
  execute(
    Effect.gen(function* () {
      const settings = yield* Settings.read(flags)
      const turbine =
        flags.turbine === undefined
          ? undefined
          : yield* Asset.parse(flags.turbine).pipe(
              Effect.mapError((error) => new Settings.UsageError({ message: `--turbine: ${error.message}` }))
            )
      return yield* program(settings, yield* Settings.dayBounds(flags), turbine)
    }),
    { verbose: flags.verbose === true }
  )
