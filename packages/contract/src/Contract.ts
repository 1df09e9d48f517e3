/**
 * What the three contracts share: a contract is a list of named checks, each an Effect that fails
 * with a `ContractViolation` saying what the implementation did. `declare` turns them into vitest
 * tests on one layer built for the block; `evaluate` runs them anywhere and reports each outcome.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { afterAll, beforeAll, describe, it } from "vitest"

/** One law of a contract, checked against the services of a layer. */
export interface Check<R> {
  /** What the implementation must do, as a sentence: the test's name. */
  readonly name: string
  readonly effect: Effect.Effect<void, unknown, R>
  /** Why the check does not apply to this implementation (an option said so); it is skipped. */
  readonly skip?: string | undefined
}

/** The implementation broke the law a check tests: what it did, against what the contract asks. */
export class ContractViolation extends Schema.TaggedError<ContractViolation>()("ContractViolation", {
  message: Schema.String
}) {}

/** Fails the check with `message`. */
export const violation = (message: string): Effect.Effect<never, ContractViolation> =>
  Effect.fail(new ContractViolation({ message }))

/** Fails the check with `message` unless `condition` holds. */
export const ensure = (condition: boolean, message: () => string): Effect.Effect<void, ContractViolation> =>
  condition ? Effect.void : violation(message())

export interface Outcome {
  readonly name: string
  readonly status: "passed" | "failed" | "skipped"
  /** Why it failed or was skipped. */
  readonly message?: string | undefined
}

/** What a failed check says: the violation, or the error or defect the implementation ended with. */
export const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "Some" && error.value instanceof ContractViolation) return error.value.message
  if (Cause.hasInterruptsOnly(cause)) return "interrupted"
  return `the implementation failed unexpectedly: ${Cause.pretty(cause)}`
}

export interface RunOptions {
  /** Milliseconds a check may take; 60 seconds by default. */
  readonly timeout?: number | undefined
}

const defaultTimeout = 60_000

/**
 * Runs the checks one after another on the services of `layer` (built once, released at the end),
 * on the live clock, and returns each outcome; fails only when the layer cannot be built.
 */
export const evaluate = <R, E>(
  checks: ReadonlyArray<Check<R>>,
  layer: Layer.Layer<R, E>,
  options: RunOptions = {}
): Effect.Effect<Array<Outcome>, E> =>
  Effect.scoped(
    Effect.gen(function* () {
      const context = yield* Layer.build(layer)
      const outcomes: Array<Outcome> = []
      for (const check of checks) {
        if (check.skip !== undefined) {
          outcomes.push({ name: check.name, status: "skipped", message: check.skip })
          continue
        }
        const exit = yield* check.effect.pipe(
          Effect.timeoutOrElse({
            duration: options.timeout ?? defaultTimeout,
            orElse: () => violation(`did not finish within ${options.timeout ?? defaultTimeout} ms`)
          }),
          Effect.provideContext(context),
          // Checks wait for real (a heartbeat later, a timeout), also under a test's TestClock.
          Effect.provideService(Clock.Clock, Clock.Clock.defaultValue()),
          Effect.exit
        )
        outcomes.push(
          Exit.isSuccess(exit)
            ? { name: check.name, status: "passed" }
            : { name: check.name, status: "failed", message: describeFailure(exit.cause) }
        )
      }
      return outcomes
    })
  )

/**
 * Declares a vitest `describe` block named `name` with one test per check, on the services of
 * `layer`, built before the first test and released after the last. Call it at the top of a test
 * file (or inside a `describe`).
 */
export const declare = <R, E>(
  name: string,
  checks: ReadonlyArray<Check<R>>,
  layer: Layer.Layer<R, E>,
  options: RunOptions = {}
): void => {
  if (process.env.VITEST === undefined) {
    throw new Error(
      `${name}: the contract's run declares vitest tests; call it in a test file that vitest runs, or use evaluate outside vitest`
    )
  }
  const timeout = options.timeout ?? defaultTimeout
  describe(name, () => {
    let runtime: ManagedRuntime.ManagedRuntime<R, E> | undefined
    beforeAll(async () => {
      runtime = ManagedRuntime.make(layer)
      await runtime.runPromise(Effect.void)
    }, 2 * timeout)
    afterAll(() => runtime?.dispose(), 2 * timeout)
    for (const check of checks) {
      if (check.skip !== undefined) {
        it.skip(`${check.name} (skipped: ${check.skip})`, () => {})
        continue
      }
      it(
        check.name,
        async () => {
          const exit = await runtime!.runPromiseExit(check.effect)
          if (Exit.isFailure(exit)) {
            const error = Cause.findErrorOption(exit.cause)
            throw error._tag === "Some" && error.value instanceof ContractViolation
              ? error.value
              : new Error(describeFailure(exit.cause))
          }
        },
        timeout
      )
    }
  })
}
