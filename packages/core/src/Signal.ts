/**
 * The names of the data: a sensor `Variable` (`wind_speed`), a `Statistic` computed over a window
 * (`mean`), and the `SignalName` of their combination in the tidy output (`wind_speed_mean`).
 */
import * as Schema from "effect/Schema"

const identifier = /^[a-z][a-z0-9_]*$/

/**
 * A sensor variable: a lowercase identifier. The fonte API knows `wind_speed`, `power` and
 * `ambient_temperature`; other sources may carry other variables.
 */
export const Variable = Schema.String.check(
  Schema.isPattern(identifier, {
    message: "a variable is a lowercase identifier such as wind_speed"
  })
).pipe(Schema.brand("Variable"))
export type Variable = typeof Variable.Type

/** The variables of the reference fonte API, in its column order. */
export const knownVariables: ReadonlyArray<Variable> = ["wind_speed", "power", "ambient_temperature"].map((name) =>
  Variable.make(name)
)

/** What the reference challenge asks for when no variables are chosen. */
export const defaultVariables: ReadonlyArray<Variable> = knownVariables.slice(0, 2)

/**
 * The statistics a window can carry. `std` is the sample standard deviation (ddof = 1); `count` the
 * valid samples; `coverage` the valid samples over those the window should have at the source's
 * cadence (1 for a full window of minutes).
 */
export const statistics = ["mean", "min", "max", "std", "count", "coverage"] as const
export const Statistic = Schema.Literals(statistics)
export type Statistic = typeof Statistic.Type

/** The reference's `agg(['mean','min','max','std'])`. */
export const defaultStatistics: ReadonlyArray<Statistic> = ["mean", "min", "max", "std"]

/** `<variable>_<statistic>`, e.g. `wind_speed_mean`. */
export const SignalName = Schema.String.check(
  Schema.isPattern(new RegExp(`^[a-z][a-z0-9_]*_(${statistics.join("|")})$`), {
    message: `a signal is <variable>_<statistic> with a statistic among ${statistics.join(", ")}`
  })
).pipe(Schema.brand("SignalName"))
export type SignalName = typeof SignalName.Type

/** The signal name of a variable's statistic. */
export const signalName = (variable: Variable, statistic: Statistic): SignalName =>
  `${variable}_${statistic}` as SignalName

/** Splits a signal name into its variable and statistic (the statistic is always the last part). */
export const parseSignalName = (signal: SignalName): { readonly variable: Variable; readonly statistic: Statistic } => {
  const cut = signal.lastIndexOf("_")
  return { variable: signal.slice(0, cut) as Variable, statistic: signal.slice(cut + 1) as Statistic }
}
