/**
 * The `Sink` contract as checks: a load replaces the rows of its signals within its range,
 * atomically and idempotently, and touches nothing else. The kit loads rows of its own into the
 * sink and reads them back with the `readRows` the caller gives.
 */
import { Partition, Signal, Sink, TidyRows, Timestamp } from "@delfos/etl"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Contract from "./Contract.ts"

/** A row as the sink gives it back: the timestamp as ISO text, a `Date` or epoch milliseconds. */
export interface StoredRow {
  readonly timestamp: string | number | Date
  readonly signal: string
  readonly value: number
}

export interface SinkOptions<R> {
  /**
   * The rows the sink holds in `range` (rows outside it may come too; the kit drops them): how the
   * kit reads the sink back. An Effect that reads every row will do.
   */
  readonly readRows:
    | ((range: Partition.TimeRange) => Effect.Effect<ReadonlyArray<StoredRow>, unknown, R>)
    | Effect.Effect<ReadonlyArray<StoredRow>, unknown, R>
  /**
   * Whether loads may run at once; `true` by default. `false` for a sink whose callers must run
   * one load at a time: the check of concurrent loads is skipped.
   */
  readonly concurrentLoads?: boolean | undefined
}

// Row values are exact in every storage the kit knows (binary64): compared exactly (`===`).
interface Row {
  readonly t: number
  readonly signal: string
  readonly value: number
}

const key = (row: { readonly t: number; readonly signal: string }) => `${row.signal} at ${Timestamp.format(row.t)}`

const byKey = (a: Row, b: Row) => (a.signal < b.signal ? -1 : a.signal > b.signal ? 1 : a.t - b.t)

const show = (row: Row) => `${key(row)} = ${row.value}`

const millisOf = (timestamp: string | number | Date): number =>
  typeof timestamp === "number"
    ? timestamp
    : timestamp instanceof Date
      ? timestamp.getTime()
      : Timestamp.parse(timestamp)

/** What differs between two sets of rows, at most a few of each kind; `undefined` when they are equal. */
const difference = (actual: ReadonlyArray<Row>, expected: ReadonlyArray<Row>): string | undefined => {
  const want = new Map(expected.map((row) => [key(row), row]))
  const have = new Map<string, Row>()
  const duplicated: Array<Row> = []
  for (const row of actual) {
    if (have.has(key(row))) duplicated.push(row)
    else have.set(key(row), row)
  }
  const missing = expected.filter((row) => !have.has(key(row)))
  const unexpected = [...have.values()].filter((row) => !want.has(key(row)))
  const changed = [...have.values()].filter((row) => {
    const wanted = want.get(key(row))
    // `===`: -0 and 0 are one value to a sink (JSON writes both as 0).
    return wanted !== undefined && wanted.value !== row.value
  })
  if (missing.length + unexpected.length + changed.length + duplicated.length === 0) return undefined
  const few = (rows: ReadonlyArray<Row>, what: (row: Row) => string) =>
    rows.slice(0, 3).map(what).join("; ") + (rows.length > 3 ? `; … ${rows.length - 3} more` : "")
  return [
    `${actual.length} rows held, ${expected.length} expected`,
    missing.length > 0 ? `${missing.length} missing (${few(missing, show)})` : "",
    unexpected.length > 0 ? `${unexpected.length} unexpected (${few(unexpected, show)})` : "",
    changed.length > 0
      ? `${changed.length} with another value (${few(changed, (row) => `${show(row)}, expected ${want.get(key(row))!.value}`)})`
      : "",
    duplicated.length > 0 ? `${duplicated.length} held twice (${few(duplicated, show)})` : ""
  ]
    .filter((part) => part !== "")
    .join("; ")
}

// ---------------------------------------------------------------------------------------------
// The kit's data: a few signals of the default pipeline, one row per ten-minute window.

const windowMillis = 600_000
const windowsPerDay = 144
const owned = ["power_max", "power_mean", "wind_speed_max", "wind_speed_mean"].map((name) =>
  Signal.SignalName.make(name)
)
const other = Signal.SignalName.make("ambient_temperature_mean")

// Each check works on days of its own, so one sink (one database) serves the whole suite.
const firstDay = Partition.Day.make("2001-01-01")
const dayOf = (check: number, offset = 0) => Partition.addDays(firstDay, 10 * check + offset)
const utcPartition = (check: number, offset = 0) => Partition.makeUnsafe(dayOf(check, offset))

/**
 * Rows of `signals` at the window starts `windows` (indices from the range's start; a negative
 * index or one past the day reaches into the neighbours), valued by `value`.
 */
const makeRows = (
  range: Partition.TimeRange,
  signals: ReadonlyArray<Signal.SignalName>,
  windows: ReadonlyArray<number>,
  value: (signal: number, window: number) => number
): Array<Row> =>
  windows.flatMap((w) =>
    signals.map((signal, s) => ({ t: range.start + w * windowMillis, signal, value: value(s, w) }))
  )

const allWindows = Array.from({ length: windowsPerDay }, (_, w) => w)

const request = (
  partition: Partition.Partition,
  rows: ReadonlyArray<Row>,
  signals: ReadonlyArray<Signal.SignalName> = owned
): Sink.LoadRequest => ({
  pipeline: "contract",
  partition,
  range: Partition.range(partition),
  signals,
  rows: TidyRows.fromArray(
    rows.map((row) => ({ timestamp: row.t, signal: row.signal as Signal.SignalName, value: row.value }))
  )
})

const rowsOf = (load: Sink.LoadRequest): Array<Row> =>
  TidyRows.toArray(load.rows).map((row) => ({
    t: Timestamp.parse(row.timestamp),
    signal: row.signal,
    value: row.value
  }))

const load = (request: Sink.LoadRequest) => Sink.Sink.use((sink) => sink.load(request))

const loadResult = (result: Sink.LoadResult) =>
  `{ rowsWritten: ${result.rowsWritten}, rowsDeleted: ${result.rowsDeleted} }`

/** The contract's checks, reading the sink back with `options.readRows`. */
export const checks = <R>(options: SinkOptions<R>): Array<Contract.Check<Sink.Sink | R>> => {
  const read = (range: Partition.TimeRange): Effect.Effect<Array<Row>, unknown, R> =>
    Effect.map(Effect.isEffect(options.readRows) ? options.readRows : options.readRows(range), (rows) =>
      rows
        .map((row) => ({ t: millisOf(row.timestamp), signal: row.signal, value: row.value }))
        .filter((row) => row.t >= range.start && row.t < range.end)
        .sort(byKey)
    )

  /** Fails unless the sink holds exactly `expected` in `range`. */
  const holds = (range: Partition.TimeRange, expected: ReadonlyArray<Row>, after: string) =>
    Effect.flatMap(read(range), (actual) => {
      const diff = difference(actual, expected)
      return diff === undefined
        ? Effect.void
        : Contract.violation(`${after}, the sink holds other rows than it should: ${diff}`)
    })

  /** Loads `request` and fails unless the load fails with a `SinkError`. */
  const refused = (request: Sink.LoadRequest, what: string) =>
    Effect.flatMap(Effect.exit(load(request)), (exit) => {
      if (Exit.isSuccess(exit)) {
        return Contract.violation(
          `a load with ${what} succeeded (${loadResult(exit.value)}); it must fail with SinkLoadFailed`
        )
      }
      const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
      const tag = (error?.error as { _tag?: unknown } | undefined)?._tag
      return Contract.ensure(
        tag === "SinkLoadFailed" || tag === "SinkUnavailable",
        () => `a load with ${what} must fail with a SinkError (SinkLoadFailed), not ${describeExit(exit)}`
      )
    })

  const span = (first: Partition.Partition, last: Partition.Partition): Partition.TimeRange => ({
    start: Partition.range(first).start,
    end: Partition.range(last).end
  })

  const refusal = (index: number, what: string, bad: (range: Partition.TimeRange) => Sink.LoadRequest["rows"]) =>
    Effect.gen(function* () {
      const partition = utcPartition(index)
      const range = Partition.range(partition)
      const before = makeRows(range, owned, allWindows, (s, w) => s * 1000 + w)
      yield* load(request(partition, before))
      yield* refused({ ...request(partition, []), rows: bad(range) }, what)
      yield* holds(range, before, `after a load with ${what} failed`)
    })

  // Valid rows that change every value (all but the last window), then the bad one, so a sink
  // writing as it goes has written most of them by the time it meets it.
  const changedThen = (range: Partition.TimeRange, last: Row): Sink.LoadRequest["rows"] => {
    const rows = makeRows(range, owned, allWindows.slice(0, -1), (s, w) => -(s * 1000 + w) - 0.5)
    const all = [...rows, last]
    return {
      length: all.length,
      timestamps: Float64Array.from(all, (row) => row.t),
      signals: [...owned, other],
      signalIndex: Uint16Array.from(all, (row) => [...owned, other].indexOf(row.signal as Signal.SignalName)),
      values: Float64Array.from(all, (row) => row.value)
    }
  }

  const list: Array<Contract.Check<Sink.Sink | R>> = [
    {
      name: "holds the rows of a load as given",
      effect: Effect.gen(function* () {
        const partition = utcPartition(0)
        const range = Partition.range(partition)
        // Values a 32-bit float or a decimal column would not hold exactly.
        const rows = makeRows(range, owned, allWindows, (s, w) => Math.PI * (s + 1) * 1000 + w / 7)
        yield* load(request(partition, rows))
        yield* holds(range, rows, "after one load")
      })
    },
    {
      name: "the same load twice leaves what one load leaves (idempotent)",
      effect: Effect.gen(function* () {
        const partition = utcPartition(1)
        const range = Partition.range(partition)
        const rows = makeRows(range, owned, allWindows, (s, w) => s * 1000 + w)
        yield* load(request(partition, rows))
        yield* load(request(partition, rows))
        yield* holds(range, rows, "after the same load twice")
      })
    },
    {
      name: "a re-load replaces the partition: new values, new rows, and stale rows removed",
      effect: Effect.gen(function* () {
        const partition = utcPartition(2)
        const range = Partition.range(partition)
        yield* load(
          request(
            partition,
            makeRows(range, owned, allWindows, (s, w) => s * 1000 + w)
          )
        )
        // The last 44 windows became empty, and 10 windows of the day's end are new.
        const next = makeRows(
          range,
          owned,
          allWindows.filter((w) => w < 100 || w >= 134),
          (s, w) => s * 1000 + w + 0.5
        )
        yield* load(request(partition, next))
        yield* holds(range, next, "after a re-load without some windows")
      })
    },
    {
      name: "a signal that produced nothing in range loses its rows",
      effect: Effect.gen(function* () {
        const partition = utcPartition(3)
        const range = Partition.range(partition)
        yield* load(
          request(
            partition,
            makeRows(range, owned, allWindows, (s, w) => s * 1000 + w)
          )
        )
        // Owned, but without a row: wind_speed_* produced nothing this time.
        const next = makeRows(range, owned.slice(0, 2), allWindows, (s, w) => s * 1000 + w)
        yield* load(request(partition, next))
        yield* holds(range, next, "after a re-load where two owned signals had no row")
      })
    },
    {
      name: "rows of signals the load does not own are not touched",
      effect: Effect.gen(function* () {
        const partition = utcPartition(4)
        const range = Partition.range(partition)
        const others = makeRows(range, [other], allWindows, (_, w) => 20 + w / 8)
        yield* load(request(partition, others, [other]))
        yield* load(
          request(
            partition,
            makeRows(range, owned, allWindows, (s, w) => s * 1000 + w)
          )
        )
        const next = makeRows(range, owned, allWindows.slice(0, 50), (s, w) => s * 1000 + w + 0.5)
        yield* load(request(partition, next))
        yield* holds(range, [...others, ...next], `after loads owning ${owned.join(", ")} over rows of ${other}`)
      })
    },
    {
      name: "other partitions are not touched, not even the windows next to the partition's ends",
      effect: Effect.gen(function* () {
        const before = utcPartition(5, 0)
        const partition = utcPartition(5, 1)
        const after = utcPartition(5, 2)
        const neighbours = [before, after].flatMap((p, i) =>
          makeRows(Partition.range(p), owned, allWindows, (s, w) => 10_000 * (i + 1) + s * 1000 + w)
        )
        yield* load(request(before, neighbours.slice(0, neighbours.length / 2)))
        yield* load(request(after, neighbours.slice(neighbours.length / 2)))
        const range = Partition.range(partition)
        yield* load(
          request(
            partition,
            makeRows(range, owned, allWindows, (s, w) => s * 1000 + w)
          )
        )
        const next = makeRows(range, owned, [0, 1, 142, 143], (s, w) => s * 1000 + w + 0.5)
        yield* load(request(partition, next))
        yield* load(request(partition, next))
        yield* holds(span(before, after), [...neighbours, ...next], "after re-loads of the day between two loaded days")
      })
    },
    {
      name: "a load replaces exactly its range, also a time zone's day over rows of UTC days",
      effect: Effect.gen(function* () {
        // The local day in São Paulo (UTC-3) runs from 03:00 UTC to 03:00 UTC the next day: it
        // overlaps two UTC days, and its range is not its day's UTC midnights.
        const first = utcPartition(6, 0)
        const second = utcPartition(6, 1)
        const utcRows = [first, second].flatMap((p) =>
          makeRows(Partition.range(p), owned, allWindows, (s, w) => s * 1000 + w)
        )
        yield* load(request(first, utcRows.slice(0, utcRows.length / 2)))
        yield* load(request(second, utcRows.slice(utcRows.length / 2)))
        const local = Partition.makeUnsafe(first.day, "America/Sao_Paulo")
        const localRange = Partition.range(local)
        const localRows = makeRows(localRange, owned, [0, 1, 2, 3, 4, 5, 100], (s, w) => -(s * 1000 + w))
        yield* load(request(local, localRows))
        const outside = utcRows.filter((row) => row.t < localRange.start || row.t >= localRange.end)
        yield* holds(span(first, second), [...outside, ...localRows], `after a load of ${Partition.format(local)}`)
      })
    },
    {
      name: "an empty load (no rows, its signals owned) clears the range; one owning nothing changes nothing",
      effect: Effect.gen(function* () {
        const partition = utcPartition(7)
        const range = Partition.range(partition)
        const others = makeRows(range, [other], allWindows, (_, w) => w)
        yield* load(request(partition, others, [other]))
        yield* load(
          request(
            partition,
            makeRows(range, owned, allWindows, (s, w) => s * 1000 + w)
          )
        )
        yield* load(request(partition, []))
        yield* holds(range, others, "after an empty load owning the signals")
        yield* load(request(partition, [], []))
        yield* holds(range, others, "after an empty load owning no signal")
      })
    },
    {
      name: "a load that fails midway (a value that is not finite) keeps the previous rows",
      effect: refusal(8, "a NaN value in its last row", (range) =>
        changedThen(range, { t: range.start + 143 * windowMillis, signal: owned[0]!, value: Number.NaN })
      )
    },
    {
      name: "a load that fails midway (a row outside its range) keeps the previous rows",
      effect: refusal(9, "its last row at the next midnight, outside its range", (range) =>
        changedThen(range, { t: range.end, signal: owned[0]!, value: 1 })
      )
    },
    {
      name: "a load that fails midway (a row of a signal it does not own) keeps the previous rows",
      effect: refusal(10, `its last row of ${other}, a signal it does not own`, (range) =>
        changedThen(range, { t: range.start, signal: other, value: 1 })
      )
    },
    {
      name: "concurrent loads of one partition end as one of them, never a mix",
      skip:
        options.concurrentLoads === false ? "the sink takes one load at a time (concurrentLoads: false)" : undefined,
      effect: Effect.gen(function* () {
        const partition = utcPartition(11)
        const range = Partition.range(partition)
        for (let round = 0; round < 6; round++) {
          const loads = [
            request(
              partition,
              makeRows(range, owned, allWindows, (s, w) => round * 10_000 + s * 1000 + w)
            ),
            request(
              partition,
              makeRows(
                range,
                owned,
                allWindows.filter((w) => w % 2 === 1),
                (s, w) => -(round * 10_000 + s * 1000 + w)
              )
            ),
            request(
              partition,
              makeRows(range, owned.slice(1), [7, 77], (s, w) => round + s + w / 1000)
            )
          ]
          const exits = yield* Effect.all(
            loads.map((each) => Effect.exit(load(each))),
            { concurrency: "unbounded" }
          )
          const done = loads.filter((_, i) => Exit.isSuccess(exits[i]!))
          yield* Contract.ensure(done.length > 0, () => `round ${round + 1}: all three concurrent loads failed`)
          const held = yield* read(range)
          const matches = done.some((each) => difference(held, rowsOf(each).sort(byKey)) === undefined)
          if (!matches) {
            const closest = done.map((each, i) => `load ${i + 1}: ${difference(held, rowsOf(each).sort(byKey))}`)
            return yield* Contract.violation(
              `round ${round + 1}: after ${loads.length} concurrent loads of one partition the sink holds none of them: ${closest.join(" | ")}`
            )
          }
        }
      })
    },
    {
      name: "counts the rows written and the stale rows deleted (LoadResult)",
      effect: Effect.gen(function* () {
        const partition = utcPartition(12)
        const range = Partition.range(partition)
        const first = makeRows(range, owned, allWindows, (s, w) => s * 1000 + w)
        const second = makeRows(
          range,
          owned,
          allWindows.filter((w) => w >= 4),
          (s, w) => s * 1000 + w + (w % 2) / 2
        )
        const steps: Array<[string, Sink.LoadRequest, Sink.LoadResult]> = [
          ["a first load", request(partition, first), { rowsWritten: first.length, rowsDeleted: 0 }],
          ["the same load again", request(partition, first), { rowsWritten: first.length, rowsDeleted: 0 }],
          [
            "a load without the first 4 windows",
            request(partition, second),
            { rowsWritten: second.length, rowsDeleted: 4 * owned.length }
          ],
          ["an empty load", request(partition, []), { rowsWritten: 0, rowsDeleted: second.length }],
          ["another empty load", request(partition, []), { rowsWritten: 0, rowsDeleted: 0 }]
        ]
        for (const [what, each, expected] of steps) {
          const result = yield* load(each)
          yield* Contract.ensure(
            result.rowsWritten === expected.rowsWritten && result.rowsDeleted === expected.rowsDeleted,
            () => `${what} returned ${loadResult(result)}, expected ${loadResult(expected)}`
          )
        }
      })
    }
  ]
  return list
}

const describeExit = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit)
    ? "success"
    : exit.cause.reasons
        .map((reason) =>
          reason._tag === "Fail"
            ? `the error ${String((reason.error as { _tag?: unknown })?._tag ?? reason.error)}`
            : reason._tag === "Die"
              ? `a defect (${String(reason.defect)})`
              : "an interruption"
        )
        .join(", ")

/**
 * Declares the contract's tests for the `Sink` of `layer` (built once for the block): call it at
 * the top of a vitest file.
 */
export const run = <R, E>(
  name: string,
  layer: Layer.Layer<Sink.Sink | R, E>,
  options: SinkOptions<R> & Contract.RunOptions
): void => Contract.declare(name, checks(options), layer, options)

/** Runs the contract's checks on the `Sink` of `layer` outside vitest, and reports each outcome. */
export const evaluate = <R, E>(
  layer: Layer.Layer<Sink.Sink | R, E>,
  options: SinkOptions<R> & Contract.RunOptions
): Effect.Effect<Array<Contract.Outcome>, E> => Contract.evaluate(checks(options), layer, options)
