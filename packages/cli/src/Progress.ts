/**
 * Progress of a range run: a bar redrawn in place on a terminal (partitions done, rows, rate,
 * ETA), one plain line per partition otherwise, nothing with `--json` (the JSON comes at the end).
 */
import { Partition, Quality, type RunReport } from "@delfos/etl"
import { number, seconds } from "./Format.ts"

export interface Progress {
  readonly report: (report: RunReport.RunReport) => void
  readonly finish: () => void
}

/** The notes of a loaded partition's findings: `quality: warn (frozen wind_speed: …)`. */
const qualityNote = (report: RunReport.RunReport): string => {
  const flagged = (report.quality ?? []).filter((finding) => finding.severity !== "ok")
  if (flagged.length === 0) return ""
  const worst = flagged.some((finding) => finding.severity === "error") ? "error" : "warn"
  return `  quality ${worst}: ${flagged.map(findingText).join("; ")}`
}

/** `wind_speed frozen: 3.5 h at 7.57 from 09:22`, or `duplicates: …` for the partition as a whole. */
export const findingText = (finding: Quality.Finding): string =>
  `${finding.variable === Quality.wholePartition ? "" : `${finding.variable} `}${finding.check}: ${finding.reason}`

/**
 * One line per partition: `2024-01-01 WTG01  succeeded  1,440 samples  144 windows  1,152 rows  0.12s`,
 * `degraded` and why, `empty` and what became of the rows already there, or `failed` and why; the
 * quality findings that are not ok; and whether the ledger could not record it.
 */
export const reportLine = (report: RunReport.RunReport): string => {
  const partition = Partition.format(report)
  const unrecorded =
    report.ledgerError === undefined ? "" : `  (not recorded in the run ledger: ${report.ledgerError.message})`
  if (report.status === "failed") {
    return `${partition}  failed     ${report.error?.message ?? "unknown error"}${unrecorded}`
  }
  if (report.status === "empty") {
    const rows =
      report.rowsDeleted > 0
        ? `${number(report.rowsDeleted)} earlier rows removed (--allow-empty)`
        : "nothing loaded, the rows already there kept (--allow-empty to clear them)"
    return `${partition}  empty      no samples from the source: ${rows}${unrecorded}`
  }
  const extras = [
    report.rowsDeleted > 0 ? `${number(report.rowsDeleted)} stale rows removed` : "",
    report.duplicates > 0 ? `${number(report.duplicates)} duplicate timestamps` : ""
  ].filter((part) => part !== "")
  return `${partition}  ${report.status.padEnd(9)}  ${number(report.samplesRead)} samples  ${number(report.windows)} windows  ${number(report.rowsWritten)} rows  ${seconds(report.durationMs)}${extras.length > 0 ? `  (${extras.join(", ")})` : ""}${qualityNote(report)}${unrecorded}`
}

/**
 * What a run's reports add up to, kept as they come (a fleet-year is 36,500 reports: a run keeps
 * the counts, not the reports): outcomes, rows, and what the quality checks found.
 */
export interface Tally {
  readonly add: (report: RunReport.RunReport) => void
  /** `3 succeeded, 1 degraded, 1 empty, 1 failed, 1 not recorded in the ledger`: the counts that are not zero, succeeded always. */
  readonly counts: () => string
  /** `quality of 30 turbine-days: 27 ok, 1 warn, 2 error (frozen 2, …)`, or "" when no check ran. */
  readonly quality: () => string
  readonly rows: () => number
  /** Whether a partition failed, or the ledger could not record one: exit code 1. */
  readonly failed: () => boolean
}

export const tally = (reports: Iterable<RunReport.RunReport> = []): Tally => {
  const statuses: Record<RunReport.RunStatus, number> = { succeeded: 0, degraded: 0, empty: 0, failed: 0 }
  const severities = { ok: 0, warn: 0, error: 0 }
  const checks = new Map<string, number>()
  let unrecorded = 0
  let rows = 0
  let checked = 0
  let assets = false
  const add = (report: RunReport.RunReport) => {
    statuses[report.status]++
    rows += report.rowsWritten
    if (report.ledgerError !== undefined) unrecorded++
    if (report.asset !== undefined) assets = true
    if (report.quality === undefined) return
    checked++
    const flagged = report.quality.filter((finding) => finding.severity !== "ok")
    severities[flagged.some((finding) => finding.severity === "error") ? "error" : flagged.length > 0 ? "warn" : "ok"]++
    for (const check of new Set(flagged.map((finding) => finding.check)))
      checks.set(check, (checks.get(check) ?? 0) + 1)
  }
  for (const report of reports) add(report)
  return {
    add,
    counts: () =>
      [
        `${statuses.succeeded} succeeded`,
        statuses.degraded > 0 ? `${statuses.degraded} degraded` : "",
        statuses.empty > 0 ? `${statuses.empty} empty` : "",
        statuses.failed > 0 ? `${statuses.failed} failed` : "",
        unrecorded > 0 ? `${unrecorded} not recorded in the run ledger` : ""
      ]
        .filter((part) => part !== "")
        .join(", "),
    quality: () => {
      if (checked === 0) return ""
      const which = [...checks].map(([check, n]) => `${check} ${n}`).join(", ")
      return `quality of ${number(checked)} ${assets ? "turbine-days" : "days"}: ${severities.ok} ok, ${severities.warn} warn, ${severities.error} error${which === "" ? "" : ` (${which})`}`
    },
    rows: () => rows,
    failed: () => statuses.failed > 0 || unrecorded > 0
  }
}

/** `3 succeeded, 1 degraded, 1 empty, 1 failed, 1 not recorded in the ledger` of some reports. */
export const counts = (reports: ReadonlyArray<RunReport.RunReport>): string => tally(reports).counts()

/** What the quality checks found over some reports (see `Tally.quality`). */
export const qualitySummary = (reports: ReadonlyArray<RunReport.RunReport>): string => tally(reports).quality()

/** Whether reports call for exit code 1: a partition failed, or the ledger could not record one. */
export const anyFailed = (reports: ReadonlyArray<RunReport.RunReport>): boolean => reports.some(isFailure)

/** Whether a report's line is a failure's (stderr) rather than a result's (stdout). */
export const isFailure = (report: RunReport.RunReport): boolean =>
  report.status === "failed" || report.ledgerError !== undefined

/** Plain lines, one per partition as it finishes: results on `write`, failures on `writeFailure`. */
export const lines = (write: (text: string) => void, writeFailure: (text: string) => void = write): Progress => ({
  report: (report) => (isFailure(report) ? writeFailure : write)(`${reportLine(report)}\n`),
  finish: () => {}
})

/** Lines for a person: a bar on a terminal, lines on stdout (failures on stderr) otherwise, nothing with `--json`. */
export const forRun = (json: boolean, partitions: ReadonlyArray<Partition.PartitionLike>): Progress =>
  json
    ? none
    : process.stderr.isTTY && partitions.length > 1
      ? bar(
          process.stderr,
          partitions.length,
          partitions.some((partition) => partition.asset !== undefined) ? "turbine-days" : "days"
        )
      : lines(
          (text) => process.stdout.write(text),
          (text) => process.stderr.write(text)
        )

/** A bar on a terminal; failed and empty partitions are printed above it as they happen. */
export const bar = (stream: NodeJS.WriteStream, total: number, noun = "days"): Progress => {
  const started = Date.now()
  let done = 0
  let failed = 0
  let rows = 0
  const draw = () => {
    const elapsed = (Date.now() - started) / 1000
    const rate = elapsed > 0 ? done / elapsed : 0
    const eta = rate > 0 ? (total - done) / rate : Number.NaN
    const width = 24
    const filled = Math.round((done / Math.max(total, 1)) * width)
    const text =
      `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total} ${noun}, ${total - done} left` +
      `${failed > 0 ? ` (${failed} failed)` : ""} · ${number(rows)} rows · ${rate.toFixed(1)}/s` +
      ` · ETA ${Number.isFinite(eta) ? `${Math.ceil(eta)}s` : "…"}`
    stream.write(`\r\x1b[2K${text}`)
  }
  draw()
  return {
    report: (report) => {
      done++
      rows += report.rowsWritten
      if (report.status === "failed") failed++
      if (report.status !== "succeeded" || report.ledgerError !== undefined || qualityNote(report) !== "") {
        stream.write(`\r\x1b[2K${reportLine(report)}\n`)
      }
      draw()
    },
    finish: () => stream.write("\n")
  }
}

export const none: Progress = { report: () => {}, finish: () => {} }
