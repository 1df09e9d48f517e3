/**
 * The fleet × days grid: one row per turbine, one focusable cell per day, coloured and marked by
 * the partition's state; one turbine shows as a calendar of weeks instead. Arrow keys move between
 * cells (one tab stop for the whole grid), Enter opens a cell.
 */
import type { Cell, Grid, Info } from "./api.ts"
import { addDays, duration, h, href, number } from "./dom.ts"
import { looks, order, qualityGlyph } from "./states.ts"

export interface GridQuery {
  readonly pipeline?: string | undefined
  readonly from?: string | undefined
  readonly to?: string | undefined
  readonly turbine?: string | undefined
}

const describe = (cell: Cell, label: string): string => {
  const look = looks[cell.state]
  const parts = [`${label}, ${cell.day}: ${look.label}`]
  if (cell.quality === "warn" || cell.quality === "error") parts.push(`quality ${cell.quality}`)
  if (cell.attempts > 1) parts.push(`${cell.attempts} attempts`)
  if (cell.rowsWritten !== null) parts.push(`${number(cell.rowsWritten)} rows in ${duration(cell.durationMs)}`)
  if (cell.error !== null) parts.push(cell.error)
  return parts.join("; ")
}

const cellButton = (cell: Cell, label: string, text?: string) =>
  h(
    "button",
    {
      type: "button",
      class: "cell",
      role: "gridcell",
      tabindex: -1,
      "data-state": cell.state,
      "data-quality": cell.quality ?? undefined,
      "data-day": cell.day,
      "data-asset": cell.asset,
      "aria-label": describe(cell, label),
      title: describe(cell, label),
      onclick: () => {
        location.hash = href("partition", [cell.day, cell.asset === "" ? "_" : cell.asset], {})
      }
    },
    text === undefined ? null : h("span", { class: "day-number" }, text),
    h("span", { class: "glyph", "aria-hidden": "true" }, looks[cell.state].glyph),
    cell.quality === "warn" || cell.quality === "error"
      ? h("span", { class: "mark", "aria-hidden": "true" }, qualityGlyph[cell.quality])
      : null
  )

/** Arrow keys, Home/End move the focus among the grid's cells; the grid is one tab stop. */
const navigable = (container: HTMLElement, columns: number) => {
  const cells = () => [...container.querySelectorAll<HTMLButtonElement>("button.cell")]
  const all = cells()
  if (all[0] !== undefined) all[0].tabIndex = 0
  container.addEventListener("keydown", (event) => {
    const list = cells()
    const at = list.indexOf(document.activeElement as HTMLButtonElement)
    if (at < 0) return
    const moves: Record<string, number> = {
      ArrowRight: 1,
      ArrowLeft: -1,
      ArrowDown: columns,
      ArrowUp: -columns,
      Home: -(at % columns),
      End: columns - 1 - (at % columns)
    }
    const move = moves[event.key]
    if (move === undefined) return
    const next = list[at + move]
    if (next === undefined) return
    event.preventDefault()
    list[at]!.tabIndex = -1
    next.tabIndex = 0
    next.focus()
  })
}

const legend = (grid: Grid) =>
  h(
    "ul",
    { class: "legend", "aria-label": "Legend" },
    order.map((state) =>
      h(
        "li",
        { "data-state": state },
        h("span", { class: "swatch", "data-state": state, "aria-hidden": "true" }, looks[state].glyph),
        h("span", {}, `${looks[state].label} `),
        h("span", { class: "count" }, String(grid.counts[state] ?? 0))
      )
    ),
    h(
      "li",
      { class: "legend-quality" },
      h("span", { class: "swatch mark-sample", "aria-hidden": "true" }, qualityGlyph.warn),
      h("span", {}, "quality warning or error")
    )
  )

/** The matrix: turbines down, days across, scrolling sideways on a narrow screen. */
const matrix = (grid: Grid) => {
  const byAsset = new Map<string, Array<Cell>>()
  for (const cell of grid.cells) {
    let row = byAsset.get(cell.asset)
    if (row === undefined) byAsset.set(cell.asset, (row = []))
    row.push(cell)
  }
  const table = h("div", {
    class: "matrix",
    role: "grid",
    "aria-label": `Partitions: ${grid.turbines.length} turbines × ${grid.days.length} days`,
    style: `--days: ${grid.days.length}`
  })
  table.append(
    h(
      "div",
      { class: "matrix-row header", role: "row" },
      h("span", { class: "row-label", role: "columnheader" }, "turbine"),
      grid.days.map((day, i) =>
        h(
          "span",
          { class: "day-label", role: "columnheader", title: day, "aria-label": day },
          i === 0 || day.endsWith("-01") ? day.slice(5).replace("-", "/") : day.slice(8)
        )
      )
    )
  )
  for (const turbine of grid.turbines) {
    const cells = byAsset.get(turbine.asset) ?? []
    table.append(
      h(
        "div",
        { class: "matrix-row", role: "row", "data-asset": turbine.asset },
        h(
          "a",
          {
            class: "row-label",
            role: "rowheader",
            href: href("series", [], {
              turbine: turbine.asset === "" ? "_" : turbine.asset,
              from: grid.from,
              to: grid.to,
              pipeline: grid.pipeline
            }),
            title: `the series of ${turbine.label}`
          },
          turbine.label
        ),
        cells.map((cell) => cellButton(cell, turbine.label))
      )
    )
  }
  navigable(table, grid.days.length)
  return h("div", { class: "scroll" }, table)
}

/** One turbine: a calendar, a row per week from Monday, the day's number in each cell. */
const calendar = (grid: Grid) => {
  const turbine = grid.turbines[0]!
  const weekday = (day: string) => (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7
  const start = addDays(grid.days[0]!, -weekday(grid.days[0]!))
  const byDay = new Map(grid.cells.map((cell) => [cell.day, cell]))
  const table = h("div", {
    class: "calendar",
    role: "grid",
    "aria-label": `Partitions of ${turbine.label}: ${grid.days.length} days`
  })
  table.append(
    h(
      "div",
      { class: "calendar-row header", role: "row" },
      h("span", { class: "row-label", role: "columnheader" }, "week of"),
      ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map((name) =>
        h("span", { class: "day-label", role: "columnheader" }, name)
      )
    )
  )
  for (let week = start; week <= grid.to; week = addDays(week, 7)) {
    const days = Array.from({ length: 7 }, (_, i) => addDays(week, i))
    table.append(
      h(
        "div",
        { class: "calendar-row", role: "row" },
        h("span", { class: "row-label", role: "rowheader" }, week),
        days.map((day) => {
          const cell = byDay.get(day)
          return cell === undefined
            ? h("span", { class: "cell outside", role: "gridcell", "aria-hidden": "true" })
            : cellButton(cell, turbine.label, day.slice(8))
        })
      )
    )
  }
  // Days outside the range are placeholders, not cells: arrows move along the range's days.
  navigable(table, 7)
  return table
}

/** The filters: days, turbine, pipeline; applied by changing the route. */
const filters = (info: Info, grid: Grid, query: GridQuery) => {
  const apply = (event: Event) => {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    location.hash = href("grid", [], {
      pipeline: String(form.get("pipeline") ?? ""),
      from: String(form.get("from") ?? ""),
      to: String(form.get("to") ?? ""),
      turbine: String(form.get("turbine") ?? "")
    })
  }
  return h(
    "form",
    { class: "filters", onsubmit: apply, "aria-label": "Filters" },
    h("label", {}, "From ", h("input", { type: "date", name: "from", value: grid.from, required: true })),
    h("label", {}, "To ", h("input", { type: "date", name: "to", value: grid.to, required: true })),
    h(
      "label",
      {},
      "Turbine ",
      h(
        "select",
        { name: "turbine" },
        h("option", { value: "" }, "all"),
        info.turbines.map((turbine) => {
          const value = turbine.asset === "" ? "_" : turbine.asset
          return h("option", { value, selected: query.turbine === value }, turbine.label)
        })
      )
    ),
    info.pipelines.length > 1
      ? h(
          "label",
          {},
          "Pipeline ",
          h(
            "select",
            { name: "pipeline" },
            info.pipelines.map((name) => h("option", { value: name, selected: name === grid.pipeline }, name))
          )
        )
      : h("input", { type: "hidden", name: "pipeline", value: query.pipeline ?? "" }),
    h("button", { type: "submit" }, "Show")
  )
}

export const render = (info: Info, grid: Grid, query: GridQuery): HTMLElement => {
  const single = grid.turbines.length === 1
  const running = (grid.counts.running ?? 0) > 0
  return h(
    "section",
    { class: "view grid-view", "aria-labelledby": "grid-title" },
    h(
      "h1",
      { id: "grid-title" },
      `Partitions of “${grid.pipeline}”`,
      h(
        "span",
        { class: "subtitle" },
        ` ${grid.from} to ${grid.to} (${grid.timeZone})${single ? `, ${grid.turbines[0]!.label}` : ""}`
      )
    ),
    filters(info, grid, query),
    legend(grid),
    grid.turbines.length === 0
      ? h(
          "p",
          { class: "empty-note" },
          "No runs in the ledger yet: run a day (delfos-etl run --date …) and it shows here."
        )
      : single
        ? calendar(grid)
        : matrix(grid),
    h(
      "p",
      { class: "muted refresh", "aria-live": "polite" },
      `Updated ${new Date().toLocaleTimeString()}${running ? ", refreshing every 3 s while partitions run" : ""}`
    )
  )
}
