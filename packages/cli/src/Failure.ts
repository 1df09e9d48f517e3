/**
 * Turning what went wrong into one clear line and an exit code: 2 for a command line that cannot
 * run, 1 for anything that failed while running. Stack traces only with `--verbose`.
 */
import * as Cause from "effect/Cause"
import * as ExitCode from "./ExitCode.ts"

interface Tagged {
  readonly _tag: string
  readonly message: string
}

const isTagged = (error: unknown): error is Tagged =>
  typeof error === "object" && error !== null && "_tag" in error && "message" in error

/** The one line for an error: its own message, which our tagged errors write for people. */
export const line = (error: unknown): string => {
  if (isTagged(error) && error.message !== "") return oneLine(error.message)
  if (typeof error === "object" && error !== null && "reason" in error && typeof error.reason === "string") {
    return oneLine(error.reason)
  }
  if (error instanceof Error && error.message !== "") return oneLine(error.message)
  if (isTagged(error)) return `${error._tag} ${JSON.stringify(error)}`
  return oneLine(String(error))
}

/** A message on one line: a failure is one line on stderr, whatever the message held. */
export const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, " ").trim()

/** The errors that mean "this command line cannot be run as given". */
const usageTags = new Set([
  "UsageError",
  "InvalidJob",
  "InvalidWorkerOptions",
  "InvalidCron",
  "MissingDatabaseUrl",
  "InvalidDatabaseUrl"
])

/** The exit code for a failure. */
export const exitCode = (error: unknown): number =>
  isTagged(error) && usageTags.has(error._tag) ? ExitCode.usage : ExitCode.failed

/** The line and code for a failed program's cause (the first error, or the defect). */
export const fromCause = (
  cause: Cause.Cause<unknown>,
  verbose: boolean
): { readonly text: string; readonly code: number } => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "Some") {
    return { text: line(error.value), code: exitCode(error.value) }
  }
  if (Cause.hasInterruptsOnly(cause)) return { text: "interrupted", code: ExitCode.interrupted }
  const defect = Cause.squash(cause)
  return {
    text: verbose ? Cause.pretty(cause) : `unexpected failure: ${line(defect)} (run with --verbose for details)`,
    code: ExitCode.failed
  }
}
