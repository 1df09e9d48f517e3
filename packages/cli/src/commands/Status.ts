/**
 * `delfos-etl status`: each day's latest run from the ledger, as a calendar with totals and the
 * last runs, or JSON. Without a range: the pipeline's days, as many weeks as fit the terminal,
 * ending with its latest run (it says how to see the rest).
 */
import { Ledger, Partition, Partitions } from "@delfos/etl"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Calendar from "../Calendar.ts"
import { execute } from "../Execute.ts"
import * as ExitCode from "../ExitCode.ts"
import { number, seconds } from "../Format.ts"
import * as Layers from "../Layers.ts"
import * as Settings from "../Settings.ts"
import { note, out } from "./Run.ts"

export interface StatusFlags extends Settings.RawOptions {
  readonly from?: string | undefined
  readonly to?: string | undefined
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

export const program = (
  settings: Settings.Settings,
  range: { readonly from?: Partition.Day | undefined; readonly to?: Partition.Day | undefined }
): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    yield* note(`${Layers.targetNote(settings)}\n`)
    const shown = yield* bounds(settings, range, Math.max(40, process.stdout.columns ?? 80))
    const partitions =
      shown === undefined
        ? []
        : Partition.days(shown.from, shown.to).map((day) => ({ day, timeZone: settings.timeZone }))
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
    yield* out(`pipeline "${settings.pipeline}", ${shown.from} to ${shown.to} (${settings.timeZone})\n\n`)
    for (const line of Calendar.render(states, color)) yield* out(`${line}\n`)
    const totals = Partitions.count(states)
    yield* out(`\n${Calendar.legend(totals, color)}  (${number(states.length)} days)\n`)
    if (shown.all !== undefined) {
      yield* out(`(the pipeline's days: ${shown.all.first} to ${shown.all.last}; --from and --to show any range)\n`)
    }
    const recent = states
      .filter((state) => state.startedAt !== null)
      .sort((a, b) => (a.startedAt! < b.startedAt! ? 1 : -1))
      .slice(0, 8)
    if (recent.length > 0) {
      yield* out("\nlast runs:\n")
      for (const state of recent) {
        const took = state.durationMs === null ? "" : seconds(state.durationMs)
        const detail =
          state.status === "failed"
            ? (state.lastError ?? "")
            : state.status === "empty"
              ? `no samples${(state.rowsDeleted ?? 0) > 0 ? `, ${number(state.rowsDeleted!)} earlier rows removed` : ", earlier rows kept"} ${took}`
              : `${state.rowsWritten === null ? "" : `${number(state.rowsWritten)} rows`} ${took}`.trim()
        yield* out(
          `  ${Partition.format(state)}  ${state.status.padEnd(9)}  attempt ${state.attempts}  ${state.startedAt!.slice(0, 19).replace("T", " ")}  ${detail}\n`
        )
      }
    }
    return ExitCode.success
  }).pipe(Layers.provide(settings, Layers.target(settings)))

export const run = (flags: StatusFlags): Promise<number> =>
  execute(
    Effect.gen(function* () {
      const settings = yield* Settings.read(flags)
      return yield* program(settings, yield* Settings.dayBounds(flags))
    }),
    { verbose: flags.verbose === true }
  )
