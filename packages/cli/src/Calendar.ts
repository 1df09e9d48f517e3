/**
 * The partitions of a range as a calendar in the terminal: one cell per day, a column per week,
 * a row per weekday, like a contribution graph. Cells differ by symbol (readable without color)
 * and, on a terminal, by color.
 */
import { Partition, type Partitions } from "@delfos/etl"

interface Look {
  readonly symbol: string
  readonly color: string
}

const cells: Record<Partitions.PartitionStatus, Look> = {
  succeeded: { symbol: "■", color: "\x1b[32m" },
  degraded: { symbol: "▣", color: "\x1b[35m" },
  empty: { symbol: "□", color: "\x1b[36m" },
  failed: { symbol: "✗", color: "\x1b[31m" },
  running: { symbol: "◐", color: "\x1b[33m" },
  missing: { symbol: "·", color: "\x1b[90m" }
}

/** A fleet's day: every turbine loaded, some, none (failed), … */
const dayCells: Record<Partitions.DayStatus, Look> = {
  complete: { symbol: "■", color: "\x1b[32m" },
  partial: { symbol: "◧", color: "\x1b[33m" },
  failed: { symbol: "✗", color: "\x1b[31m" },
  running: { symbol: "◐", color: "\x1b[33m" },
  empty: { symbol: "□", color: "\x1b[36m" },
  missing: { symbol: "·", color: "\x1b[90m" }
}

/** A loaded day whose quality checks warned, or found an error: marked over its status. */
const qualityCells: Record<"warn" | "error", Look> = {
  warn: { symbol: "▲", color: "\x1b[33m" },
  error: { symbol: "◆", color: "\x1b[31m" }
}

/** A partition's cell: its status; a succeeded one with quality warnings or errors shows those. */
export const partitionCell = (state: Partitions.PartitionState): Look =>
  state.status === "succeeded" && (state.quality === "warn" || state.quality === "error")
    ? qualityCells[state.quality]
    : cells[state.status]

/** A fleet day's cell: its status; a complete one with quality warnings or errors shows those. */
export const dayCell = (day: Partitions.DayState): Look =>
  day.status === "complete" && (day.quality === "warn" || day.quality === "error")
    ? qualityCells[day.quality]
    : dayCells[day.status]

/** A day of the calendar: its day and its look. */
export interface Cell {
  readonly day: Partition.Day
  readonly look: Look
}

const reset = "\x1b[0m"
const weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

/** The columns a calendar of `weeks` weeks takes: the weekday's name, then two per week. */
export const width = (weeks: number): number => 5 + weeks * 2

/** How many weeks fit in `columns` terminal columns. */
export const weeksThatFit = (columns: number): number => Math.max(1, Math.floor((columns - 5) / 2))

/**
 * The calendar lines for `states` (consecutive days of one time zone, in order): a line of years
 * (each over the week its first shown day falls in), a line of months, then a row per weekday.
 */
export const render = (states: ReadonlyArray<Cell>, color: boolean): Array<string> => {
  if (states.length === 0) return []
  const first = Partition.dayNumber(states[0]!.day) - Partition.weekday(states[0]!.day)
  const weeks = Math.floor((Partition.dayNumber(states[states.length - 1]!.day) - first) / 7) + 1
  const grid = weekdays.map(() => new Array<string>(weeks).fill(" "))
  const years = new Array<string>(width(weeks) + 5).fill(" ")
  const labels = new Array<string>(width(weeks) + 3).fill(" ")
  // A label above the week its month (or year) starts in, unless the previous label is too close.
  const place = (line: Array<string>, at: number, text: string) => {
    if (line.slice(at - 1, at + text.length).every((char) => char === " ")) {
      text.split("").forEach((char, i) => {
        line[at + i] = char
      })
    }
  }
  let lastMonth = ""
  let lastYear = ""
  for (const state of states) {
    const offset = Partition.dayNumber(state.day) - first
    const week = Math.floor(offset / 7)
    const cell = state.look
    grid[offset % 7]![week] = color ? `${cell.color}${cell.symbol}${reset}` : cell.symbol
    const at = 5 + week * 2
    if (state.day.slice(0, 4) !== lastYear) {
      lastYear = state.day.slice(0, 4)
      place(years, at, lastYear)
    }
    if (state.day.slice(0, 7) !== lastMonth) {
      lastMonth = state.day.slice(0, 7)
      place(labels, at, months[Number(lastMonth.slice(5)) - 1]!)
    }
  }
  return [
    years.join("").trimEnd(),
    labels.join("").trimEnd(),
    ...weekdays.map((name, row) => `${name}  ${grid[row]!.join(" ")}`.trimEnd())
  ]
}

const paint = (look: Look, color: boolean) => (color ? `${look.color}${look.symbol}${reset}` : look.symbol)

/** `■ name count  ▲ name count  …`: each look of `entries` with how many of `looks` it is. */
const legendOf = (
  looks: ReadonlyArray<Look>,
  entries: ReadonlyArray<readonly [Look, string]>,
  color: boolean
): string =>
  entries
    .map(([look, name]) => `${paint(look, color)} ${name} ${looks.filter((other) => other === look).length}`)
    .join("  ")

/** `■ succeeded 27  ▲ warnings 2  ◆ errors 0  ▣ degraded 0  □ empty 1  ✗ failed 1  ◐ running 0  · missing 2` */
export const partitionLegend = (states: ReadonlyArray<Partitions.PartitionState>, color: boolean): string =>
  legendOf(
    states.map(partitionCell),
    [
      [cells.succeeded, "succeeded"],
      [qualityCells.warn, "warnings"],
      [qualityCells.error, "errors"],
      [cells.degraded, "degraded"],
      [cells.empty, "empty"],
      [cells.failed, "failed"],
      [cells.running, "running"],
      [cells.missing, "missing"]
    ],
    color
  )

/** `■ complete 27  ▲ warnings 2  ◆ errors 0  ◧ partial 1  ✗ failed 0  …`: days of a fleet. */
export const dayLegend = (days: ReadonlyArray<Partitions.DayState>, color: boolean): string =>
  legendOf(
    days.map(dayCell),
    [
      [dayCells.complete, "complete"],
      [qualityCells.warn, "warnings"],
      [qualityCells.error, "errors"],
      [dayCells.partial, "partial"],
      [dayCells.failed, "failed"],
      [dayCells.empty, "empty"],
      [dayCells.running, "running"],
      [dayCells.missing, "missing"]
    ],
    color
  )
