/**
 * The page: a hash route per view (`#/` the fleet grid, `#/partition/DAY/TURBINE`, `#/series?…`),
 * each drawn from the JSON API; the grid polls while it is shown, faster while partitions run.
 */
import "./style.css"
import * as Api from "./api.ts"
import { addDays, currentRoute, h } from "./dom.ts"
import * as GridView from "./grid.ts"
import * as PartitionView from "./partition.ts"
import * as SeriesView from "./series.ts"

const app = document.getElementById("app")!
const where = document.getElementById("where")!

let unmount: () => void = () => undefined
let timer: ReturnType<typeof setTimeout> | undefined
let generation = 0

const show = (element: HTMLElement, focus: boolean) => {
  unmount()
  unmount = () => undefined
  // Keep the focused cell focused across a refresh of the same grid.
  const active = document.activeElement as HTMLElement | null
  const key = active?.dataset.day === undefined ? undefined : `${active.dataset.day}|${active.dataset.asset}`
  app.replaceChildren(element)
  if (key !== undefined) {
    const [day, asset] = key.split("|")
    const again = [...app.querySelectorAll<HTMLElement>("button.cell")].find(
      (cell) => cell.dataset.day === day && cell.dataset.asset === asset
    )
    again?.focus()
  } else if (focus) {
    app.querySelector<HTMLElement>("h1")?.setAttribute("tabindex", "-1")
    app.querySelector<HTMLElement>("h1")?.focus({ preventScroll: true })
  }
}

const failure = (error: unknown) =>
  h(
    "div",
    { class: "error", role: "alert" },
    `Could not load: ${error instanceof Error ? error.message : String(error)}`
  )

const route = async (focus: boolean) => {
  const run = ++generation
  if (timer !== undefined) clearTimeout(timer)
  const { path, query, view } = currentRoute()
  for (const link of document.querySelectorAll<HTMLElement>("[data-nav]")) {
    if (link.dataset.nav === (view === "partition" ? "grid" : view)) link.setAttribute("aria-current", "page")
    else link.removeAttribute("aria-current")
  }
  try {
    const info = await Api.info()
    where.textContent = `${info.database} · read-only`
    const pipeline = query.get("pipeline") ?? undefined
    if (view === "partition") {
      const detail = await Api.partition(path[0] ?? "", path[1] === "_" ? "" : (path[1] ?? ""), pipeline)
      if (run === generation) show(PartitionView.render(detail), focus)
      return
    }
    if (view === "series") {
      const to = query.get("to") ?? info.lastDay ?? new Date().toISOString().slice(0, 10)
      const from = query.get("from") ?? to
      const asked = {
        pipeline,
        turbine: query.get("turbine") ?? undefined,
        signal: query.get("signal") ?? undefined,
        from,
        to
      }
      let set: Api.SeriesSet | undefined
      let error: string | undefined
      try {
        set = await Api.series(asked)
      } catch (failed) {
        error = (failed as Error).message
      }
      if (run !== generation) return
      const rendered = SeriesView.render(info, set, asked, error)
      show(rendered.element, focus)
      unmount = rendered.mount()
      return
    }
    const asked = {
      pipeline,
      from: query.get("from") ?? undefined,
      to: query.get("to") ?? undefined,
      turbine: query.get("turbine") ?? undefined
    }
    const grid = await Api.partitions({
      ...asked,
      from: asked.from ?? (info.lastDay === null ? undefined : maxDay(info.firstDay!, addDays(info.lastDay, -30)))
    })
    if (run !== generation) return
    show(GridView.render(info, grid, asked), focus)
    const running = (grid.counts.running ?? 0) > 0
    timer = setTimeout(() => void route(false), running ? 3_000 : 15_000)
  } catch (error) {
    if (run === generation) show(failure(error), focus)
  }
}

const maxDay = (a: string, b: string) => (a > b ? a : b)

window.addEventListener("hashchange", () => void route(true))
void route(false)
