/**
 * A signal's 10-minute series for one or more turbines: the mean as a line, the min–max band and
 * the ±std band (uPlot: canvas, fast for a turbine-year of 52,560 windows and more); one window's
 * raw 1-minute samples from the fonte beside its aggregate. Arrow keys move the selected window,
 * Enter shows its samples.
 */
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"
import type { Info, RawSamples, Series, SeriesSet } from "./api.ts"
import * as Api from "./api.ts"
import { addDays, h, href, number } from "./dom.ts"

/** Okabe–Ito, then a dash pattern per turbine so that lines differ in more than colour. */
const colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
const dashes: ReadonlyArray<Array<number>> = [[], [8, 4], [2, 3], [10, 3, 2, 3]]

export interface SeriesQuery {
  readonly pipeline?: string | undefined
  readonly turbine?: string | undefined
  readonly signal?: string | undefined
  readonly from: string
  readonly to: string
}

const units: Record<string, string> = { wind_speed: "m/s", power: "kW", ambient_temperature: "°C" }

const alpha = (colour: string, a: string) => `${colour}${a}`

/** The uPlot data and options for `set`: per turbine mean, min, max, mean−std, mean+std. */
const plotOf = (set: SeriesSet, width: number, height: number) => {
  const tables = set.series.map((series): uPlot.AlignedData => {
    const lo = series.mean.map((mean, i) => (mean === null || series.std[i] == null ? null : mean - series.std[i]!))
    const hi = series.mean.map((mean, i) => (mean === null || series.std[i] == null ? null : mean + series.std[i]!))
    return [series.timestamps, series.mean, series.min, series.max, lo, hi] as unknown as uPlot.AlignedData
  })
  const data = tables.length === 1 ? tables[0]! : uPlot.join(tables)
  const seriesOptions: Array<uPlot.Series> = [{ label: "time" }]
  const bands: Array<uPlot.Band> = []
  set.series.forEach((series, k) => {
    const colour = colours[k % colours.length]!
    const dash = dashes[k % dashes.length]!
    const base = 1 + k * 5
    seriesOptions.push(
      { label: `${series.label} mean`, stroke: colour, width: 1.5, dash, spanGaps: false },
      { label: `${series.label} min`, stroke: alpha(colour, "55"), width: 0.5 },
      { label: `${series.label} max`, stroke: alpha(colour, "55"), width: 0.5 },
      { label: `${series.label} mean−std`, stroke: "transparent", width: 0 },
      { label: `${series.label} mean+std`, stroke: "transparent", width: 0 }
    )
    bands.push(
      { series: [base + 2, base + 1], fill: alpha(colour, set.series.length === 1 ? "26" : "14") },
      { series: [base + 4, base + 3], fill: alpha(colour, set.series.length === 1 ? "4d" : "22") }
    )
  })
  const options: uPlot.Options = {
    width,
    height,
    ms: 1,
    tzDate: (ts) => uPlot.tzDate(new Date(ts), "UTC"),
    series: seriesOptions,
    bands,
    legend: { show: false },
    cursor: { drag: { x: true, y: false }, points: { show: false } },
    scales: { x: { time: true } },
    // 24-hour UTC labels: a day's start as its date, other ticks as the time.
    axes: [
      {
        values: (_, ticks) =>
          ticks.map((t) => {
            const iso = new Date(t).toISOString()
            return iso.slice(11, 16) === "00:00" ? iso.slice(5, 10) : iso.slice(11, 16)
          })
      },
      { label: `${set.variable}${units[set.variable] === undefined ? "" : ` (${units[set.variable]})`}` }
    ]
  }
  return { data, options }
}

const windowLabel = (t: number) => `${new Date(t).toISOString().slice(0, 16).replace("T", " ")} UTC`

/** Mean, min, max and sample std of some values, as the pipeline computes them. */
const stats = (values: ReadonlyArray<number | null>) => {
  const valid = values.filter((value): value is number => value !== null)
  if (valid.length === 0) return { mean: null, min: null, max: null, std: null, count: 0 }
  const mean = valid.reduce((a, b) => a + b, 0) / valid.length
  const std = valid.length < 2 ? null : Math.sqrt(valid.reduce((a, b) => a + (b - mean) ** 2, 0) / (valid.length - 1))
  return { mean, min: Math.min(...valid), max: Math.max(...valid), std, count: valid.length }
}

type Statistics = { readonly [K in "mean" | "min" | "max" | "std"]?: number | null | undefined }

/** The window's statistics: the target's row, and (with the samples) the same computed from them. */
const aggregateTable = (variable: string, target: Statistics, computed?: ReturnType<typeof stats>) => {
  const row = (name: string, values: Statistics, extra = "") =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, name),
      [values.mean, values.min, values.max, values.std].map((value) => h("td", {}, number(value ?? null, 3))),
      h("td", {}, extra)
    )
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "aggregate" },
      h("caption", {}, `${variable} in this window`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["", "mean", "min", "max", "std", ""].map((name) => h("th", { scope: "col" }, name))
        )
      ),
      h(
        "tbody",
        {},
        row("target (10-minute row)", target),
        computed === undefined ? null : row("from the raw samples", computed, `${computed.count} samples`)
      )
    )
  )
}

/** A window of a series: its aggregate, and its raw samples from the fonte (or why there are none). */
const rawPanel = (set: SeriesSet, series: Series, index: number, raw: RawSamples | string) => {
  const target = { mean: series.mean[index], min: series.min[index], max: series.max[index], std: series.std[index] }
  const head = h(
    "h2",
    { id: "window-title" },
    `${series.label}, window ${windowLabel(series.timestamps[index]!)} (+10 min)`
  )
  if (typeof raw === "string") {
    return h(
      "section",
      { class: "raw", "aria-labelledby": "window-title" },
      head,
      aggregateTable(set.variable, target),
      h("p", { class: "muted" }, raw)
    )
  }
  const samples = h(
    "table",
    { class: "samples" },
    h("caption", {}, `Raw samples from the fonte (${raw.timestamps.length})`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["time (UTC)", ...Object.keys(raw.values)].map((name) => h("th", { scope: "col" }, name))
      )
    ),
    h(
      "tbody",
      {},
      raw.timestamps.map((t, i) =>
        h(
          "tr",
          {},
          h("td", {}, new Date(t).toISOString().slice(11, 19)),
          Object.values(raw.values).map((column) => h("td", {}, number(column[i] ?? null, 3)))
        )
      )
    )
  )
  return h(
    "section",
    { class: "raw", "aria-labelledby": "window-title", "data-samples": raw.timestamps.length },
    head,
    aggregateTable(set.variable, target, stats(raw.values[set.variable] ?? [])),
    h("div", { class: "scroll" }, samples),
    h("p", { class: "muted source" }, raw.source)
  )
}

/** The controls: turbines, signal, days; applied by changing the route. */
const controls = (info: Info, set: SeriesSet | undefined, query: SeriesQuery) => {
  const chosen = new Set((query.turbine ?? "").split(",").filter((name) => name !== ""))
  const apply = (event: Event) => {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    location.hash = href("series", [], {
      pipeline: query.pipeline,
      turbine: form.getAll("turbine").map(String).join(","),
      signal: String(form.get("signal") ?? ""),
      from: String(form.get("from") ?? ""),
      to: String(form.get("to") ?? "")
    })
  }
  const preset = (days: number) =>
    h(
      "a",
      {
        class: "button small",
        href: href("series", [], { ...query, from: addDays(query.to, -(days - 1)), to: query.to })
      },
      days === 1 ? "day" : days === 7 ? "week" : days === 30 ? "month" : "year"
    )
  const variables = info.variables.length > 0 ? info.variables : ["wind_speed", "power"]
  return h(
    "form",
    { class: "filters", onsubmit: apply, "aria-label": "Series" },
    h(
      "fieldset",
      { class: "turbines" },
      h("legend", {}, "Turbines"),
      info.turbines.map((turbine) => {
        const value = turbine.asset === "" ? "_" : turbine.asset
        const checked =
          chosen.size === 0 ? set?.series.some((s) => s.asset === turbine.asset) === true : chosen.has(value)
        return h(
          "label",
          { class: "check" },
          h("input", { type: "checkbox", name: "turbine", value, checked }),
          ` ${turbine.label}`
        )
      })
    ),
    h(
      "label",
      {},
      "Signal ",
      h(
        "select",
        { name: "signal" },
        variables.map((name) => h("option", { value: name, selected: name === (set?.variable ?? query.signal) }, name))
      )
    ),
    h("label", {}, "From ", h("input", { type: "date", name: "from", value: query.from, required: true })),
    h("label", {}, "To ", h("input", { type: "date", name: "to", value: query.to, required: true })),
    h("button", { type: "submit" }, "Show"),
    h("span", { class: "presets" }, "Last ", preset(1), preset(7), preset(30), preset(365))
  )
}

/** The view; the chart is drawn once the element is in the document (it needs its width). */
export const render = (
  info: Info,
  set: SeriesSet | undefined,
  query: SeriesQuery,
  error?: string
): { readonly element: HTMLElement; readonly mount: () => () => void } => {
  const chart = h("div", {
    class: "chart",
    tabindex: 0,
    role: "img",
    "aria-label": "chart",
    "data-points": set?.series.reduce((total, series) => total + series.timestamps.length, 0) ?? 0
  })
  const readout = h(
    "p",
    { class: "readout", "aria-live": "polite" },
    "Click a window (or focus the chart and use ← → and Enter) to see its raw samples."
  )
  const raw = h("div", { class: "raw-slot" })
  const legend = h(
    "ul",
    { class: "legend series-legend" },
    (set?.series ?? []).map((series, k) =>
      h(
        "li",
        {},
        h("span", {
          class: "line-sample",
          style: `border-top: 3px ${k % dashes.length === 0 ? "solid" : k % dashes.length === 2 ? "dotted" : "dashed"} ${colours[k % colours.length]}`
        }),
        ` ${series.label}: mean, min–max band, ±std band (${number(series.timestamps.length)} windows)`
      )
    )
  )
  const element = h(
    "section",
    { class: "view series-view", "aria-labelledby": "series-title" },
    h(
      "h1",
      { id: "series-title" },
      `${set?.variable ?? query.signal ?? "wind_speed"}, 10-minute windows`,
      h("span", { class: "subtitle" }, ` ${query.from} to ${query.to} (UTC)`)
    ),
    controls(info, set, query),
    error === undefined ? null : h("div", { class: "error", role: "alert" }, error),
    legend,
    chart,
    readout,
    raw
  )
  const mount = () => {
    if (set === undefined || set.series.every((series) => series.timestamps.length === 0)) {
      chart.replaceWith(h("p", { class: "empty-note chart", "data-points": 0 }, "No windows in this range."))
      return () => undefined
    }
    const size = () => ({
      width: Math.max(280, chart.clientWidth),
      height: window.innerWidth < 600 ? 260 : 380
    })
    const { data, options } = plotOf(set, size().width, size().height)
    let selected = -1
    const xs = data[0] as ReadonlyArray<number>
    const show = (index: number) => {
      const t = xs[index]
      if (t === undefined) return
      const parts = set.series.map((series) => {
        const i = series.timestamps.indexOf(t)
        return i < 0
          ? `${series.label}: no data`
          : `${series.label}: mean ${number(series.mean[i] ?? null, 2)}, min ${number(series.min[i] ?? null, 2)}, max ${number(series.max[i] ?? null, 2)}, std ${number(series.std[i] ?? null, 2)}`
      })
      readout.textContent = `${windowLabel(t)} · ${parts.join(" · ")}`
    }
    const openRaw = async (index: number) => {
      const t = xs[index]
      if (t === undefined) return
      const series = set.series.find((s) => s.timestamps.includes(t)) ?? set.series[0]!
      const i = series.timestamps.indexOf(t)
      if (i < 0) return
      if (!info.rawSamples) {
        raw.replaceChildren(rawPanel(set, series, i, "Raw samples need the fonte: start the UI with --source-url."))
        return
      }
      raw.replaceChildren(h("p", { class: "muted" }, "Asking the fonte…"))
      try {
        const samples = await Api.raw({ turbine: Api.assetParam(series.asset), from: new Date(t).toISOString() })
        raw.replaceChildren(rawPanel(set, series, i, samples))
      } catch (failure) {
        raw.replaceChildren(rawPanel(set, series, i, `The fonte did not answer: ${(failure as Error).message}`))
      }
    }
    options.hooks = {
      setCursor: [
        (u) => {
          if (u.cursor.idx !== null && u.cursor.idx !== undefined) show(u.cursor.idx)
        }
      ],
      draw: [
        () => {
          chart.dataset.rendered = "true"
        }
      ]
    }
    const plot = new uPlot(options, data, chart)
    plot.over.addEventListener("click", () => {
      if (plot.cursor.idx === null || plot.cursor.idx === undefined) return
      selected = plot.cursor.idx
      void openRaw(selected)
    })
    chart.addEventListener("keydown", (event) => {
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0
      if (step !== 0) {
        event.preventDefault()
        selected = Math.min(xs.length - 1, Math.max(0, Math.max(selected, 0) + step))
        plot.setCursor({ left: plot.valToPos(xs[selected]!, "x"), top: plot.bbox.height / (2 * devicePixelRatio) })
        show(selected)
      } else if (event.key === "Enter" && selected >= 0) {
        event.preventDefault()
        void openRaw(selected)
      }
    })
    const resize = new ResizeObserver(() => plot.setSize(size()))
    resize.observe(chart)
    return () => {
      resize.disconnect()
      plot.destroy()
    }
  }
  return { element, mount }
}
