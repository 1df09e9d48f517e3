/**
 * The partitions of a range as a calendar in the terminal: one cell per day, a column per week,
 * a row per weekday, like a contribution graph. Cells differ by symbol (readable without color)
 * and, on a terminal, by color.
 */
import type { Partitions } from "@delfos/etl"

const cells: Record<Partitions.PartitionStatus, { readonly symbol: string; readonly color: string }> = {
  succeeded: { symbol: "■", color: "\x1b[32m" },
  failed: { symbol: "✗", color: "\x1b[31m" },
  running: { symbol: "◐", color: "\x1b[33m" },
  missing: { symbol: "·", color: "\x1b[90m" }
}
const reset = "\x1b[0m"
const weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

const dayNumber = (day: string) => Date.parse(`${day}T00:00:00Z`) / 86_400_000
// 1970-01-01 was a Thursday: Monday-based weekday 3.
const weekday = (day: string) => (dayNumber(day) + 3) % 7

/** The calendar lines for `states` (consecutive days of one time zone, in order). */
export const render = (states: ReadonlyArray<Partitions.PartitionState>, color: boolean): Array<string> => {
  if (states.length === 0) return []
  const first = dayNumber(states[0]!.day) - weekday(states[0]!.day)
  const weeks = Math.floor((dayNumber(states[states.length - 1]!.day) - first) / 7) + 1
  const grid = weekdays.map(() => new Array<string>(weeks).fill(" "))
  // The month's name above the week its first day falls in.
  const top = new Array<string>(5 + weeks * 2 + 3).fill(" ")
  let lastMonth = ""
  for (const state of states) {
    const offset = dayNumber(state.day) - first
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

/** `■ succeeded 28  ✗ failed 1  ◐ running 0  · missing 2` */
export const legend = (totals: Record<Partitions.PartitionStatus, number>, color: boolean): string =>
  (["succeeded", "failed", "running", "missing"] as const)
    .map((status) => {
      const cell = cells[status]
      return `${color ? `${cell.color}${cell.symbol}${reset}` : cell.symbol} ${status} ${totals[status]}`
    })
    .join("  ")
