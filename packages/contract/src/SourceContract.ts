/**
 * The `Source` contract as checks: given known samples (`fixture`), a source yields exactly the
 * samples of a partition's range, in any order and chunking, with the variables asked for, and
 * fails with a `SourceError` when it cannot. One check runs the pipeline over the source: its rows
 * must not depend on the order or chunking in which the source yields the samples.
 */
import {
  MemorySink,
  MemorySource,
  Partition,
  Pipeline,
  type RunReport,
  SampleFrame,
  Signal,
  Sink,
  Source,
  type TidyRows,
  Timestamp
} from "@delfos/etl"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Contract from "./Contract.ts"

/** A sample as the fixture gives it: an ISO timestamp (UTC, `Z`), `null` for a missing value. */
export type FixtureRow = {
  readonly timestamp: string
  readonly wind_speed: number | null
  readonly power: number | null
  readonly ambient_temperature: number | null
}

export interface Fixture {
  /** The samples, in time order, one per timestamp. */
  readonly rows: ReadonlyArray<FixtureRow>
  /** The same samples as one frame (`NaN` for a missing value). */
  readonly frame: SampleFrame.SampleFrame
  /** The variables the samples carry: the fonte API's three. */
  readonly variables: ReadonlyArray<Signal.Variable>
}

const day = (text: string, timeZone?: string) => Partition.makeUnsafe(text, timeZone)

/** The days the checks read, and what the fixture holds for each. */
export const days = {
  /** A sample every 7 minutes from midnight, some values missing, and one at 23:59:59.5. */
  full: day("2024-01-01"),
  /** A few samples, the first at midnight; with the next day's first three hours, a day in São Paulo. */
  sparse: day("2024-01-02"),
  /** 2024-01-02 in America/Sao_Paulo, `[01-02 03:00Z, 01-03 03:00Z)`. */
  local: day("2024-01-02", "America/Sao_Paulo"),
  /** Two samples with every value missing: samples all the same, so the partition is not empty. */
  missing: day("2024-01-04"),
  /** Nothing at all, although there is a sample at the next midnight. */
  empty: day("2024-01-05")
} as const

const at = (iso: string) => Timestamp.parse(iso)

const fixtureRows = (): Array<FixtureRow> => {
  const rows: Array<FixtureRow> = []
  const add = (iso: string, wind_speed: number | null, power: number | null, ambient_temperature: number | null) =>
    rows.push({ timestamp: Timestamp.format(at(iso)), wind_speed, power, ambient_temperature })
  // The previous day's last seconds.
  add("2023-12-31T23:50:00Z", 6.5, 1500, 19)
  add("2023-12-31T23:59:59.5Z", 6.75, 1510.25, 19.5)
  const start = at("2024-01-01T00:00:00Z")
  for (let i = 0; i * 7 < 1440; i++) {
    rows.push({
      timestamp: Timestamp.format(start + i * 7 * 60_000),
      wind_speed: i % 11 === 5 ? null : 4 + (i % 13) * 0.75,
      power: i % 5 === 3 ? null : 800 + i * 12.5,
      ambient_temperature: 18 + (i % 9) * 0.25
    })
  }
  add("2024-01-01T23:59:59.5Z", 9.25, 2750.5, 17.75)
  add("2024-01-02T00:00:00Z", 10, 3000, 17.5)
  add("2024-01-02T02:59:59.5Z", 10.5, 3100, 17.25)
  add("2024-01-02T03:00:00Z", 11, 3200, 17)
  add("2024-01-02T12:00:00Z", 12.5, null, 21)
  add("2024-01-02T23:59:00Z", 7.25, 1900, 16.5)
  add("2024-01-03T00:30:00Z", 7, 1850, 16.25)
  add("2024-01-03T02:59:59.5Z", 6.5, 1700.75, 16)
  add("2024-01-03T03:00:00Z", 6.25, 1650, 15.75)
  add("2024-01-04T06:00:00Z", null, null, null)
  add("2024-01-04T18:00:00Z", null, null, null)
  add("2024-01-06T00:00:00Z", 8, 2200, 18)
  return rows
}

/** The known samples a source under test must serve: build the source from them. */
export const fixture: Fixture = (() => {
  const rows = fixtureRows()
  return { rows, frame: SampleFrame.fromRows(rows, Signal.knownVariables), variables: Signal.knownVariables }
})()

export interface SourceOptions {
  /**
   * Whether the source yields only the samples of the range asked for; `true` by default. `false`
   * for a source that reads more (a whole file): the core allows it, the pipeline ignores and counts
   * the rest, and the check that nothing outside the range comes is skipped.
   */
  readonly exactRange?: boolean | undefined
  /**
   * Sources set up to fail, by what goes wrong (`"the server is down"`): reading from each must
   * fail with a `SourceError`, not a defect and not an empty stream.
   */
  readonly failures?: Readonly<Record<string, Layer.Layer<Source.Source, unknown>>> | undefined
}

// ---------------------------------------------------------------------------------------------

/** A sample as compared: its instant and one value per asked variable (`NaN` when missing). */
interface Sample {
  readonly t: number
  readonly values: ReadonlyArray<number>
}

const show = (sample: Sample, variables: ReadonlyArray<Signal.Variable>) =>
  `${Timestamp.format(sample.t)} {${variables.map((variable, i) => `${variable}: ${sample.values[i]}`).join(", ")}}`

const keyOf = (sample: Sample) => `${sample.t}|${sample.values.join("|")}`

/** The fixture's samples in `range` with `variables`. */
const expected = (range: Partition.TimeRange, variables: ReadonlyArray<Signal.Variable>): Array<Sample> =>
  samplesOf([fixture.frame], variables).filter((sample) => sample.t >= range.start && sample.t < range.end)

const samplesOf = (frames: ReadonlyArray<SampleFrame.SampleFrame>, variables: ReadonlyArray<Signal.Variable>) =>
  frames.flatMap((frame) =>
    Array.from(frame.timestamps, (t, i) => ({
      t,
      values: variables.map((variable) => frame.columns[variable]?.[i] ?? Number.NaN)
    }))
  )

/** Differences between two multisets of samples, a few of each kind; `undefined` when equal. */
const difference = (
  actual: ReadonlyArray<Sample>,
  wanted: ReadonlyArray<Sample>,
  variables: ReadonlyArray<Signal.Variable>
): string | undefined => {
  const counts = new Map<string, number>()
  for (const sample of wanted) counts.set(keyOf(sample), (counts.get(keyOf(sample)) ?? 0) + 1)
  const unexpected: Array<Sample> = []
  for (const sample of actual) {
    const left = counts.get(keyOf(sample)) ?? 0
    if (left === 0) unexpected.push(sample)
    else counts.set(keyOf(sample), left - 1)
  }
  const missing = wanted.filter((sample) => {
    const left = counts.get(keyOf(sample)) ?? 0
    if (left === 0) return false
    counts.set(keyOf(sample), left - 1)
    return true
  })
  if (missing.length + unexpected.length === 0) return undefined
  const few = (samples: ReadonlyArray<Sample>) =>
    samples
      .slice(0, 3)
      .map((sample) => show(sample, variables))
      .join("; ") + (samples.length > 3 ? `; … ${samples.length - 3} more` : "")
  return [
    `${actual.length} samples yielded, ${wanted.length} expected`,
    missing.length > 0 ? `${missing.length} missing or different (${few(missing)})` : "",
    unexpected.length > 0 ? `${unexpected.length} unexpected or different (${few(unexpected)})` : ""
  ]
    .filter((part) => part !== "")
    .join("; ")
}

/** The frames the source yields for `partition`, checked for shape. */
const extract = (partition: Partition.Partition, variables: ReadonlyArray<Signal.Variable>) =>
  Effect.gen(function* () {
    const source = yield* Source.Source
    const frames = yield* Stream.runCollect(source.extract({ partition, range: Partition.range(partition), variables }))
    for (const [n, frame] of frames.entries()) {
      const lengths = Object.entries(frame.columns).filter(([, column]) => column.length !== frame.timestamps.length)
      if (frame.length !== frame.timestamps.length || lengths.length > 0) {
        return yield* Contract.violation(
          `frame ${n + 1} for ${Partition.format(partition)} is malformed: length ${frame.length}, ${frame.timestamps.length} timestamps, ${lengths.map(([name, column]) => `${name} has ${column.length} values`).join(", ")}`
        )
      }
    }
    return frames
  })

const inRange = (range: Partition.TimeRange) => (sample: Sample) => sample.t >= range.start && sample.t < range.end

/** The rows and report of the pipeline over the `Source` in context, into a sink of its own. */
const pipelineRows = (partition: Partition.Partition) =>
  Effect.gen(function* () {
    const { memory, sink } = MemorySink.make()
    const report: RunReport.RunReport = yield* Pipeline.run(partition, {
      variables: Signal.knownVariables,
      statistics: Signal.statistics
    }).pipe(Effect.provideService(Sink.Sink, sink))
    return { report, rows: yield* memory.rows }
  })

/** Rows that differ beyond rounding (1e-9 relative: mean and std may differ in the last bits with the order). */
const rowsDifference = (actual: ReadonlyArray<TidyRows.TidyRow>, wanted: ReadonlyArray<TidyRows.TidyRow>) => {
  const key = (row: TidyRows.TidyRow) => `${row.signal} at ${row.timestamp}`
  const want = new Map(wanted.map((row) => [key(row), row.value]))
  const have = new Map(actual.map((row) => [key(row), row.value]))
  const problems = [
    ...wanted.filter((row) => !have.has(key(row))).map((row) => `${key(row)} missing`),
    ...actual.filter((row) => !want.has(key(row))).map((row) => `${key(row)} unexpected`),
    ...actual
      .filter((row) => {
        const other = want.get(key(row))
        return (
          other !== undefined && Math.abs(other - row.value) > 1e-9 * Math.max(Math.abs(other), Math.abs(row.value))
        )
      })
      .map((row) => `${key(row)} = ${row.value}, expected ${want.get(key(row))}`)
  ]
  return problems.length === 0
    ? undefined
    : `${actual.length} rows, ${wanted.length} expected: ${problems.slice(0, 4).join("; ")}${problems.length > 4 ? `; … ${problems.length - 4} more` : ""}`
}

// The fixture's samples of a partition in other orders and chunkings, served from memory.
const reorderings = (partition: Partition.Partition) => {
  const range = Partition.range(partition)
  const positions = Array.from(fixture.frame.timestamps.keys()).filter((i) => {
    const t = fixture.frame.timestamps[i]!
    return t >= range.start && t < range.end
  })
  let state = 7
  const random = () => (state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32
  const shuffled = [...positions]
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
  }
  const frameOf = (order: ReadonlyArray<number>) =>
    SampleFrame.make(
      Float64Array.from(order, (i) => fixture.frame.timestamps[i]!),
      Object.fromEntries(
        fixture.variables.map((variable) => [
          variable,
          Float64Array.from(order, (i) => fixture.frame.columns[variable]![i]!)
        ])
      )
    )
  return [
    { what: "in time order, one frame", source: MemorySource.make(frameOf(positions), { chunkSize: 100_000 }) },
    {
      what: "in reverse order, a frame per sample",
      source: MemorySource.make(frameOf([...positions].reverse()), { chunkSize: 1 })
    },
    { what: "shuffled, frames of 7", source: MemorySource.make(frameOf(shuffled), { chunkSize: 7 }) }
  ]
}

const describeExit = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit)
    ? "succeeded"
    : exit.cause.reasons
        .map((reason) =>
          reason._tag === "Fail"
            ? `failed with ${String((reason.error as { _tag?: unknown })?._tag ?? reason.error)}`
            : reason._tag === "Die"
              ? `died (a defect: ${String(reason.defect)})`
              : "was interrupted"
        )
        .join(", ")

const sourceErrors = new Set(["SourceUnavailable", "SourceRejected", "SourceInvalidData"])

/** The contract's checks, for a source serving `fixture`. */
export const checks = (options: SourceOptions = {}): Array<Contract.Check<Source.Source>> => {
  const all = fixture.variables

  /** Fails unless the source yields for `partition` exactly the fixture's samples of its range (those in range only, when not exact). */
  const yieldsExactly = (partition: Partition.Partition, variables: ReadonlyArray<Signal.Variable>, what: string) =>
    Effect.gen(function* () {
      const range = Partition.range(partition)
      const samples = samplesOf(yield* extract(partition, variables), variables)
      const compared = options.exactRange === false ? samples.filter(inRange(range)) : samples
      const diff = difference(compared, expected(range, variables), variables)
      if (diff !== undefined) {
        return yield* Contract.violation(`${what} (${Partition.format(partition)}, ${variables.join(", ")}): ${diff}`)
      }
    })

  const list: Array<Contract.Check<Source.Source>> = [
    {
      name: "yields every sample of the range: the first at midnight, one at 23:59:59.5, missing values missing",
      effect: Effect.gen(function* () {
        const range = Partition.range(days.full)
        const samples = samplesOf(yield* extract(days.full, all), all).filter(inRange(range))
        const diff = difference(samples, expected(range, all), all)
        if (diff !== undefined) {
          return yield* Contract.violation(
            `the samples in ${Partition.format(days.full)} are not the fixture's: ${diff}`
          )
        }
      })
    },
    {
      name: "yields nothing outside the range: not the previous day's last seconds, not the next midnight",
      skip: options.exactRange === false ? "the source reads more than the range (exactRange: false)" : undefined,
      effect: Effect.gen(function* () {
        for (const partition of [days.full, days.sparse, days.empty]) {
          const range = Partition.range(partition)
          const outside = samplesOf(yield* extract(partition, all), all).filter((sample) => !inRange(range)(sample))
          yield* Contract.ensure(
            outside.length === 0,
            () =>
              `${Partition.format(partition)} yielded ${outside.length} samples outside [${Timestamp.format(range.start)}, ${Timestamp.format(range.end)}): ${outside
                .slice(0, 3)
                .map((sample) => Timestamp.format(sample.t))
                .join(", ")}`
          )
        }
      })
    },
    {
      name: "yields the variables asked for, and only those",
      effect: Effect.gen(function* () {
        const asked: ReadonlyArray<ReadonlyArray<Signal.Variable>> = [
          [Signal.Variable.make("power")],
          [Signal.Variable.make("ambient_temperature"), Signal.Variable.make("wind_speed")]
        ]
        for (const variables of asked) {
          for (const [n, frame] of (yield* extract(days.full, variables)).entries()) {
            const extra = Object.keys(frame.columns).filter((name) => !variables.includes(name as Signal.Variable))
            yield* Contract.ensure(
              extra.length === 0,
              () => `asked for ${variables.join(", ")}, frame ${n + 1} carries ${extra.join(", ")} too`
            )
          }
          yield* yieldsExactly(days.full, variables, "the samples are not the fixture's")
        }
      })
    },
    {
      name: "yields samples whose every value is missing: they are samples, the partition is not empty",
      effect: yieldsExactly(days.missing, Signal.defaultVariables, "samples without values are samples")
    },
    {
      name: "yields a day in a time zone from its local midnight to the next",
      effect: yieldsExactly(days.local, all, "the samples of the local day are not the fixture's")
    },
    {
      name: "a partition without data yields no sample, and the pipeline ends empty",
      effect: Effect.gen(function* () {
        yield* yieldsExactly(days.empty, all, "a day without data")
        const { report } = yield* pipelineRows(days.empty)
        yield* Contract.ensure(
          report.status === "empty",
          () => `the pipeline over ${Partition.format(days.empty)} ended ${report.status}, expected empty`
        )
      })
    },
    {
      name: "yields the same samples when asked again",
      effect: Effect.gen(function* () {
        yield* yieldsExactly(days.sparse, all, "the first time")
        yield* yieldsExactly(days.sparse, all, "asked again")
      })
    },
    {
      name: "the pipeline's rows do not depend on the order or chunking in which samples come",
      effect: Effect.gen(function* () {
        const partition = days.full
        const { report, rows } = yield* pipelineRows(partition)
        yield* Contract.ensure(
          report.status === "succeeded",
          () => `the pipeline over ${Partition.format(partition)} ended ${report.status}`
        )
        for (const { source, what } of reorderings(partition)) {
          const reference = yield* pipelineRows(partition).pipe(Effect.provideService(Source.Source, source))
          const diff = rowsDifference(rows, reference.rows)
          if (diff !== undefined) {
            return yield* Contract.violation(
              `the pipeline's rows over this source differ from its rows over the fixture's samples ${what}: ${diff}`
            )
          }
        }
      })
    }
  ]
  for (const [what, layer] of Object.entries(options.failures ?? {})) {
    list.push({
      name: `fails with a SourceError when ${what}`,
      effect: Effect.gen(function* () {
        const exit = yield* Effect.exit(extract(days.full, all).pipe(Effect.provide(layer)))
        const failure = Exit.isFailure(exit) ? exit.cause.reasons.find((reason) => reason._tag === "Fail") : undefined
        const tag = (failure?.error as { _tag?: unknown } | undefined)?._tag
        yield* Contract.ensure(
          typeof tag === "string" && sourceErrors.has(tag),
          () =>
            `reading ${Partition.format(days.full)} ${describeExit(exit)}; expected a SourceError (${[...sourceErrors].join(", ")})`
        )
      })
    })
  }
  return list
}

/**
 * Declares the contract's tests for the `Source` that `serve` builds from the fixture (built once
 * for the block): call it at the top of a vitest file.
 */
export const run = <E>(
  name: string,
  serve: (fixture: Fixture) => Layer.Layer<Source.Source, E>,
  options: SourceOptions & Contract.RunOptions = {}
): void => Contract.declare(name, checks(options), serve(fixture), options)

/** Runs the contract's checks on the `Source` that `serve` builds from the fixture, outside vitest. */
export const evaluate = <E>(
  serve: (fixture: Fixture) => Layer.Layer<Source.Source, E>,
  options: SourceOptions & Contract.RunOptions = {}
): Effect.Effect<Array<Contract.Outcome>, E> => Contract.evaluate(checks(options), serve(fixture), options)
