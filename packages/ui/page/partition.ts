/** A partition (a day of a turbine): every run with its timings, counts and error; its quality findings. */
import type { PartitionDetail } from "./api.ts"
import { duration, h, href, instant, number } from "./dom.ts"
import { looks, qualityGlyph } from "./states.ts"

const table = (
  name: string,
  caption: string,
  head: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<Node | string>>
) =>
  h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: name },
      h("caption", {}, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          head.map((name) => h("th", { scope: "col" }, name))
        )
      ),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            {},
            row.map((value) => h("td", {}, value))
          )
        )
      )
    )
  )

const state = (name: keyof typeof looks) =>
  h("span", { class: "badge", "data-state": name }, h("span", { "aria-hidden": "true" }, looks[name].glyph), ` ${name}`)

export const render = (detail: PartitionDetail): HTMLElement => {
  const latest = detail.runs.at(-1)
  const asset = detail.asset === "" ? "_" : detail.asset
  return h(
    "section",
    { class: "view partition-view", "aria-labelledby": "partition-title", "data-state": detail.state },
    h("p", {}, h("a", { href: href("grid", [], { pipeline: detail.pipeline }) }, "← Fleet")),
    h(
      "h1",
      { id: "partition-title" },
      `${detail.label} · ${detail.day} `,
      state(detail.state),
      h("span", { class: "subtitle" }, ` pipeline “${detail.pipeline}”, ${detail.timeZone}`)
    ),
    latest?.error === null || latest === undefined
      ? null
      : h(
          "div",
          { class: "error", role: "alert" },
          h("strong", {}, `Attempt ${latest.attempt} failed: `),
          latest.error
        ),
    h(
      "p",
      {},
      h(
        "a",
        {
          class: "button",
          href: href("series", [], { turbine: asset, from: detail.day, to: detail.day, pipeline: detail.pipeline })
        },
        "Series of this day"
      )
    ),
    detail.runs.length === 0
      ? h("p", { class: "empty-note" }, "No run of this partition in the ledger.")
      : table(
          "runs",
          `Runs (${detail.runs.length})`,
          [
            "attempt",
            "status",
            "started",
            "finished",
            "took",
            "samples read",
            "rows written",
            "rows deleted",
            "runner",
            "error"
          ],
          detail.runs.map((run) => [
            String(run.attempt),
            state(run.status as keyof typeof looks),
            instant(run.startedAt),
            run.finishedAt === null ? `heartbeat ${instant(run.heartbeatAt)}` : instant(run.finishedAt),
            duration(run.durationMs),
            number(run.samplesRead),
            number(run.rowsWritten),
            number(run.rowsDeleted),
            run.runner ?? "–",
            run.error === null ? "" : h("span", { class: "error-text" }, run.error)
          ])
        ),
    h(
      "p",
      { class: "muted" },
      "The ledger records each run's start, end and heartbeat; a run's phases (extract, transform, load) are printed by the CLI, not stored."
    ),
    detail.quality.length === 0
      ? h("p", { class: "empty-note" }, "No quality findings (an empty or failed partition has none).")
      : table(
          "quality",
          `Quality checks (${detail.quality.length}, from run ${detail.qualityRunId})`,
          ["variable", "check", "value", "severity", "reason"],
          detail.quality.map((finding) => [
            finding.variable,
            finding.check,
            number(finding.value, Number.isInteger(finding.value) ? 0 : 3),
            h(
              "span",
              { class: "severity", "data-severity": finding.severity },
              `${qualityGlyph[finding.severity] || "✓"} ${finding.severity}`
            ),
            finding.reason
          ])
        )
  )
}
