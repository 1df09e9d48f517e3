/**
 * The command line's exit codes, the same for every command: 0 success, 1 a failure (a partition,
 * the run, the server), 2 a command line that cannot be run as given. No imports: the parser loads
 * it before anything else.
 */
export const success = 0
export const failed = 1
export const usage = 2
/** Stopped by SIGINT/SIGTERM where that is not the normal end (`run`, `backfill`). */
export const interrupted = 130
