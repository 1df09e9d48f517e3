/**
 * The partitions of a range as a calendar in the terminal: one cell per day, a column per week,
 * a row per weekday, like a contribution graph. Cells differ by symbol (readable without color)
 * and, on a terminal, by color.
 */
import { Partition, type Partitions } from "@delfos/etl"

const cells: Record<Partitions.PartitionStatus, { readonly symbol: string; readonly color: string }> = {
  succeeded: { symbol: "■", color: "\x1b[32m" },
  degraded: { symbol: "▣", color: "\x1b[35m" },
  empty: { symbol: "□", color: "\x1b[36m" },
  failed: { symbol: "✗", color: "\x1b[31m" },
  running: { symbol: "◐", color: "\x1b[33m" },
  missing: { symbol: "·", color: "\x1b[90m" }
}
const reset = "\x1b[0m"
const weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

/** The calendar lines for `states` (consecutive days of one time zone, in order). */
export const render = (states: ReadonlyArray<Partitions.PartitionState>, color: boolean): Array<string> => {
  if (states.length === 0) return []
  const first = Partition.dayNumber(states[0]!.day) - Partition.weekday(states[0]!.day)
  const weeks = Math.floor((Partition.dayNumber(states[states.length - 1]!.day) - first) / 7) + 1
  const grid = weekdays.map(() => new Array<string>(weeks).fill(" "))
  // The month's name above the week its first day falls in.
  const top = new Array<string>(5 + weeks * 2 + 3).fill(" ")
  let lastMonth = ""
  for (const state of states) {
    const offset = Partition.dayNumber(state.day) - first
    const week = Math.floor(offset / 7)
    const cell = cells[state.status]
    grid[offset % 7]![week] = color ? `${cell.color}${cell.symbol}${reset}` : cell.symbol
    const month = state.day.slice(0, 7)
    if (month !== lastMonth) {
      lastMonth = month
      const at = 5 + week * 2
      if (top.slice(at - 1, at + 3).every((char) => char === " ")) {
        months[Number(month.slice(5)) - 1]!.split("").forEach((char, i) => {
          top[at + i] = char
        })
      }
    }
  }
  return [top.join("").trimEnd(), ...weekdays.map((name, row) => `${name}  ${grid[row]!.join(" ")}`.trimEnd())]
}

/** `■ succeeded 27  □ empty 1  ✗ failed 1  ◐ running 0  · missing 2` */
export const legend = (totals: Record<Partitions.PartitionStatus, number>, color: boolean): string =>
  (["succeeded", "empty", "failed", "running", "missing"] as const)
    .map((status) => {
      const cell = cells[status]
      return `${color ? `${cell.color}${cell.symbol}${reset}` : cell.symbol} ${status} ${totals[status]}`
    })
    .join("  ")
