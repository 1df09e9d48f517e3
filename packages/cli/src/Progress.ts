/**
 * Progress of a range run: a bar redrawn in place on a terminal (partitions done, rows, rate,
 * ETA), one plain line per partition otherwise, nothing with `--json` (the JSON comes at the end).
 */
import { Partition, type RunReport } from "@delfos/etl"

export interface Progress {
  readonly report: (report: RunReport.RunReport) => void
  readonly finish: () => void
}

const number = (n: number) => n.toLocaleString("en-US")

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(2)}s` : `${Math.round(ms / 1000)}s`)

/** `2024-01-01  succeeded  1,440 samples  144 windows  1,152 rows  0.12s` */
export const reportLine = (report: RunReport.RunReport): string => {
  const day = Partition.format({ day: report.day, timeZone: report.timeZone })
  if (report.status === "failed") return `${day}  failed     ${report.error?.message ?? "unknown error"}`
  const extras = [
    report.rowsDeleted > 0 ? `${number(report.rowsDeleted)} stale rows removed` : "",
    report.duplicates > 0 ? `${number(report.duplicates)} duplicate timestamps` : ""
  ].filter((part) => part !== "")
  return `${day}  succeeded  ${number(report.samplesRead)} samples  ${number(report.windows)} windows  ${number(report.rowsWritten)} rows  ${seconds(report.durationMs)}${extras.length > 0 ? `  (${extras.join(", ")})` : ""}`
}

/** Plain lines, one per partition as it finishes. */
export const lines = (write: (text: string) => void): Progress => ({
  report: (report) => write(`${reportLine(report)}\n`),
  finish: () => {}
})

/** A bar on a terminal; failed partitions are printed above it as they happen. */
export const bar = (stream: NodeJS.WriteStream, total: number): Progress => {
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
      `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total} partitions, ${total - done} left` +
      `${failed > 0 ? ` (${failed} failed)` : ""} · ${number(rows)} rows · ${rate.toFixed(1)}/s` +
      ` · ETA ${Number.isFinite(eta) ? `${Math.ceil(eta)}s` : "…"}`
    stream.write(`\r\x1b[2K${text}`)
  }
  draw()
  return {
    report: (report) => {
      done++
      rows += report.rowsWritten
      if (report.status === "failed") {
        failed++
        stream.write(`\r\x1b[2K${reportLine(report)}\n`)
      }
      draw()
    },
    finish: () => stream.write("\n")
  }
}

export const none: Progress = { report: () => {}, finish: () => {} }
