/**
 * Running one command's Effect program to its exit code: SIGINT/SIGTERM interrupt it (running
 * partitions roll back, the ledger records the interruption), a failure becomes one line on stderr.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as ExitCode from "./ExitCode.ts"
import * as Failure from "./Failure.ts"

export interface ExecuteOptions {
  /** Print the whole cause of an unexpected failure. */
  readonly verbose?: boolean | undefined
  /**
   * What SIGINT/SIGTERM mean: a failure (exit 130) for a command that has an end of its own, or the
   * normal way to stop (exit 0) for a long-running one (`schedule`, `fonte serve`).
   */
  readonly interrupted?: "failure" | "success" | undefined
}

/** Runs `program` to its exit code. */
export const execute = async (
  program: Effect.Effect<number, unknown>,
  options: ExecuteOptions = {}
): Promise<number> => {
  const fiber = Effect.runFork(program)
  const stop = () => {
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  const exit = await Effect.runPromise(Fiber.await(fiber))
  process.off("SIGINT", stop)
  process.off("SIGTERM", stop)
  if (Exit.isSuccess(exit)) return exit.value
  const { code, text } = Failure.fromCause(exit.cause, options.verbose === true)
  if (code === ExitCode.interrupted && options.interrupted === "success") return ExitCode.success
  process.stderr.write(`delfos-etl: ${text}\n`)
  return code
}
