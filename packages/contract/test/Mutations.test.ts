// Every check of the kit can fail: implementations with one bug each, and the checks that catch it.
import { Ledger, Partition, type RunReport, SampleFrame, Sink, Source, TidyRows, Timestamp } from "@delfos/etl"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Layer, Stream } from "effect"
import { type Contract, LedgerContract, SinkContract, SourceContract } from "../src/index.ts"

// Every check that failed in some test below: the last test of each block wants them all.
const caught = new Set<string>()

const failing = (outcomes: ReadonlyArray<Contract.Outcome>) => {
  const names = outcomes.filter((outcome) => outcome.status === "failed").map((outcome) => outcome.name)
  for (const name of names) caught.add(name)
  return names
}

const everyCheckCaught = (names: ReadonlyArray<string>) =>
  it("every check caught one of the bugs above", () => {
    expect(names.filter((name) => !caught.has(name))).toEqual([])
  })

const messageOf = (outcomes: ReadonlyArray<Contract.Outcome>, name: string) =>
  outcomes.find((outcome) => outcome.name === name)?.message ?? ""

/** A source whose every extract is `stream`. */
const down = (stream: Stream.Stream<SampleFrame.SampleFrame, Source.SourceError>) =>
  Layer.succeed(Source.Source, Source.Source.of({ name: "down", extract: () => stream }))

const sinkChecks = SinkContract.checks({ readRows: Effect.succeed([]) }).map((check) => check.name)
const sourceChecks = (failures: ReadonlyArray<string> = []) =>
  SourceContract.checks({ failures: Object.fromEntries(failures.map((what) => [what, down(Stream.empty)])) }).map(
    (check) => check.name
  )
const ledgerChecks = LedgerContract.checks().map((check) => check.name)

/** The check of `names` whose name starts with `prefix` (names are sentences; the start is enough). */
const named = (names: ReadonlyArray<string>, prefix: string) => {
  const found = names.filter((name) => name.startsWith(prefix))
  if (found.length !== 1) throw new Error(`${found.length} checks start with "${prefix}"`)
  return found[0]!
}

// ---------------------------------------------------------------------------------------------
// A sink that writes step by step on shared state, with bugs to switch on.

interface SinkBugs {
  /** Keeps every row ever loaded, as the NDJSON example did: nothing is replaced. */
  readonly appends?: boolean
  /** Checks each row as it writes it and stops at a bad one, leaving what it wrote. */
  readonly noRollback?: boolean
  /** Clears the partition's UTC day instead of its range. */
  readonly clearsUtcDay?: boolean
  /** Clears `[start, end]`: the first window of the next day too. */
  readonly inclusiveEnd?: boolean
  /** Gives way between clearing and writing, and between rows: concurrent loads interleave. */
  readonly interleaves?: boolean
  /** Says it deleted nothing. */
  readonly countsNoDeletes?: boolean
  /** Stores values as 32-bit floats (a `real` column). */
  readonly storesFloat32?: boolean
  /** Clears every signal in the range, not only the load's. */
  readonly clearsAllSignals?: boolean
}

interface Held {
  readonly t: number
  readonly signal: string
  readonly value: number
}

const brokenSink = (bugs: SinkBugs) => {
  const state = new Map<string, Held>()
  let appended = 0
  const keyOf = (row: { t: number; signal: string }) => `${row.signal}@${row.t}`
  const load = (request: Sink.LoadRequest) =>
    Effect.gen(function* () {
      const fail = (reason: string) =>
        new Sink.SinkLoadFailed({ sink: "broken", partition: Partition.format(request.partition), reason })
      if (!bugs.noRollback) {
        const invalid = Sink.invalidRow(request)
        if (invalid !== undefined) return yield* fail(invalid)
      }
      const owned = new Set<string>(request.signals)
      const dayStart = Timestamp.parse(request.partition.day)
      const start = bugs.clearsUtcDay ? dayStart : request.range.start
      const end = bugs.clearsUtcDay ? dayStart + 86_400_000 : request.range.end
      const cleared = (row: Held) =>
        (bugs.clearsAllSignals || owned.has(row.signal)) &&
        row.t >= start &&
        (bugs.inclusiveEnd ? row.t <= end : row.t < end)
      const rows = TidyRows.toArray(request.rows).map((row) => ({
        t: Timestamp.parse(row.timestamp),
        signal: row.signal,
        value: row.value
      }))
      const fresh = new Set(rows.map(keyOf))
      let rowsDeleted = 0
      if (!bugs.appends) {
        for (const [key, row] of state) {
          if (!cleared(row)) continue
          state.delete(key)
          if (!fresh.has(key)) rowsDeleted++
        }
      }
      for (const [i, row] of rows.entries()) {
        if (bugs.interleaves && i % 50 === 0) yield* Effect.yieldNow
        const inRange = row.t >= request.range.start && row.t < request.range.end
        if (!(Number.isFinite(row.value) && inRange && owned.has(row.signal))) return yield* fail(`row ${i}`)
        const value = bugs.storesFloat32 ? Math.fround(row.value) : row.value
        state.set(bugs.appends ? `${keyOf(row)}#${appended++}` : keyOf(row), { ...row, value })
      }
      return { rowsWritten: rows.length, rowsDeleted: bugs.countsNoDeletes ? 0 : rowsDeleted }
    })
  return {
    layer: Layer.succeed(Sink.Sink, Sink.Sink.of({ name: "broken", load })),
    readRows: Effect.sync(() => [...state.values()].map((row) => ({ ...row, timestamp: row.t })))
  }
}

const sinkFailures = (bugs: SinkBugs) =>
  Effect.gen(function* () {
    const sink = brokenSink(bugs)
    return yield* SinkContract.evaluate(sink.layer, { readRows: sink.readRows })
  })

describe("SinkContract catches", () => {
  const check = (prefix: string) => named(sinkChecks, prefix)

  it.effect("nothing in the correct version of the broken sink", () =>
    Effect.map(sinkFailures({}), (outcomes) => expect(failing(outcomes)).toEqual([]))
  )

  it.effect("a sink that appends (the NDJSON example before): nothing is ever replaced", () =>
    Effect.gen(function* () {
      const outcomes = yield* sinkFailures({ appends: true })
      expect(failing(outcomes)).toEqual([
        check("the same load twice"),
        check("a re-load replaces"),
        check("a signal that produced nothing"),
        check("rows of signals the load does not own"),
        check("other partitions are not touched"),
        check("a load replaces exactly its range"),
        check("an empty load"),
        check("concurrent loads"),
        check("counts the rows")
      ])
      expect(messageOf(outcomes, check("the same load twice"))).toMatch(/576 held twice/)
    })
  )

  it.effect("a sink that does not roll back a load that fails midway", () =>
    Effect.gen(function* () {
      const outcomes = yield* sinkFailures({ noRollback: true })
      expect(failing(outcomes)).toEqual([
        check("a load that fails midway (a value that is not finite)"),
        check("a load that fails midway (a row outside its range)"),
        check("a load that fails midway (a row of a signal it does not own)")
      ])
      expect(messageOf(outcomes, failing(outcomes)[0]!)).toMatch(/after a load with a NaN value in its last row failed/)
    })
  )

  it.effect("a sink that clears the partition's UTC day instead of its range", () =>
    Effect.map(sinkFailures({ clearsUtcDay: true }), (outcomes) =>
      expect(failing(outcomes)).toEqual([check("a load replaces exactly its range")])
    )
  )

  it.effect("a sink that clears the next midnight's window too", () =>
    Effect.map(sinkFailures({ inclusiveEnd: true }), (outcomes) =>
      expect(failing(outcomes)).toEqual([
        check("other partitions are not touched"),
        check("a load replaces exactly its range")
      ])
    )
  )

  it.effect("a sink whose concurrent loads interleave", () =>
    Effect.map(sinkFailures({ interleaves: true }), (outcomes) =>
      expect(failing(outcomes)).toEqual([check("concurrent loads")])
    )
  )

  it.effect("a sink that stores values as 32-bit floats", () =>
    Effect.gen(function* () {
      const outcomes = yield* sinkFailures({ storesFloat32: true })
      expect(failing(outcomes)).toEqual([check("holds the rows of a load as given"), check("concurrent loads")])
      expect(messageOf(outcomes, failing(outcomes)[0]!)).toMatch(
        /576 with another value \(power_max at 2001-01-01T00:00:00.000Z = 3141.59/
      )
    })
  )

  it.effect("a sink that clears the rows of signals the load does not own", () =>
    Effect.map(sinkFailures({ clearsAllSignals: true }), (outcomes) =>
      expect(failing(outcomes)).toEqual([check("rows of signals the load does not own"), check("an empty load")])
    )
  )

  it.effect("a sink that does not count what it deleted", () =>
    Effect.map(sinkFailures({ countsNoDeletes: true }), (outcomes) =>
      expect(failing(outcomes)).toEqual([check("counts the rows")])
    )
  )

  everyCheckCaught(sinkChecks)
})

// ---------------------------------------------------------------------------------------------
// A source over the fixture, with bugs to switch on.

interface SourceBugs {
  /** Reads `[start, end]`, as the fonte API does: the sample at the next midnight comes too. */
  readonly inclusiveEnd?: boolean
  /** Reads up to 23:59:59, the reference's `end_date` trick: a sample at 23:59:59.5 is lost. */
  readonly endsASecondEarly?: boolean
  /** Yields every variable it has, whatever was asked. */
  readonly allVariables?: boolean
  /** Drops samples without a value, as if they were not there. */
  readonly dropsEmptySamples?: boolean
  /** Yields its frame twice. */
  readonly repeats?: boolean
  /** Can be read once, like a stream consumed by its first reader. */
  readonly readsOnce?: boolean
}

const brokenSource = (bugs: SourceBugs) => (fixture: SourceContract.Fixture) =>
  Layer.sync(Source.Source, () => {
    const read = new Set<number>()
    return Source.Source.of({
      name: "broken",
      extract: ({ range, variables }) => {
        if (bugs.readsOnce && read.has(range.start)) return Stream.empty
        read.add(range.start)
        const columns = bugs.allVariables ? fixture.variables : variables
        const end = bugs.endsASecondEarly ? range.end - 1000 : range.end
        const positions = [...fixture.frame.timestamps.keys()].filter((i) => {
          const t = fixture.frame.timestamps[i]!
          const empty = variables.every((variable) => Number.isNaN(fixture.frame.columns[variable]![i]!))
          return (
            t >= range.start &&
            (bugs.inclusiveEnd || bugs.endsASecondEarly ? t <= end : t < end) &&
            !(bugs.dropsEmptySamples && empty)
          )
        })
        const frame = SampleFrame.make(
          Float64Array.from(positions, (i) => fixture.frame.timestamps[i]!),
          Object.fromEntries(
            columns.map((variable) => [
              variable,
              Float64Array.from(positions, (i) => fixture.frame.columns[variable]![i]!)
            ])
          )
        )
        return Stream.fromIterable(bugs.repeats ? [frame, frame] : [frame])
      }
    })
  })

describe("SourceContract catches", () => {
  const check = (prefix: string) => named(sourceChecks(["it dies", "it answers nothing"]), prefix)

  it.effect("nothing in the correct version of the broken source", () =>
    Effect.map(SourceContract.evaluate(brokenSource({})), (outcomes) => expect(failing(outcomes)).toEqual([]))
  )

  it.effect("a source that reads the next midnight too", () =>
    Effect.gen(function* () {
      const outcomes = yield* SourceContract.evaluate(brokenSource({ inclusiveEnd: true }))
      expect(failing(outcomes)).toEqual([
        check("yields nothing outside the range"),
        check("yields the variables asked for"),
        check("yields a day in a time zone"),
        check("a partition without data")
      ])
      expect(messageOf(outcomes, check("yields nothing outside"))).toMatch(/2024-01-02T00:00:00.000Z/)
      // With the range's end allowed, what is left is the samples inside it: all there.
      const relaxed = yield* SourceContract.evaluate(brokenSource({ inclusiveEnd: true }), { exactRange: false })
      expect(failing(relaxed)).toEqual([])
    })
  )

  it.effect("a source that loses the sub-minute sample before midnight (end_date = 23:59:59)", () =>
    Effect.gen(function* () {
      const outcomes = yield* SourceContract.evaluate(brokenSource({ endsASecondEarly: true }))
      expect(failing(outcomes)).toEqual([
        check("yields every sample of the range"),
        check("yields the variables asked for"),
        check("yields a day in a time zone"),
        check("the pipeline's rows do not depend")
      ])
      expect(messageOf(outcomes, check("yields every sample"))).toMatch(
        /1 missing or different \(2024-01-01T23:59:59.500Z/
      )
    })
  )

  it.effect("a source that yields variables nobody asked for", () =>
    Effect.map(SourceContract.evaluate(brokenSource({ allVariables: true })), (outcomes) =>
      expect(failing(outcomes)).toEqual([check("yields the variables asked for")])
    )
  )

  it.effect("a source that drops samples without values", () =>
    Effect.map(SourceContract.evaluate(brokenSource({ dropsEmptySamples: true })), (outcomes) =>
      expect(failing(outcomes)).toEqual([
        check("yields the variables asked for"),
        check("yields samples whose every value is missing")
      ])
    )
  )

  it.effect("a source that yields its samples twice", () =>
    Effect.map(SourceContract.evaluate(brokenSource({ repeats: true })), (outcomes) =>
      expect(failing(outcomes)).toEqual([
        check("yields every sample of the range"),
        check("yields the variables asked for"),
        check("yields samples whose every value is missing"),
        check("yields a day in a time zone"),
        check("yields the same samples when asked again"),
        check("the pipeline's rows do not depend")
      ])
    )
  )

  it.effect("a source that can be read once", () =>
    Effect.map(SourceContract.evaluate(brokenSource({ readsOnce: true })), (outcomes) =>
      expect(failing(outcomes)).toEqual([
        check("yields the variables asked for"),
        check("yields the same samples when asked again"),
        check("the pipeline's rows do not depend")
      ])
    )
  )

  it.effect("a source that dies instead of failing, or answers nothing when it is down", () =>
    Effect.map(
      SourceContract.evaluate(brokenSource({}), {
        failures: {
          "it dies": down(Stream.die(new Error("socket hang up"))),
          "it answers nothing": down(Stream.empty)
        }
      }),
      (outcomes) =>
        expect(failing(outcomes)).toEqual([
          check("fails with a SourceError when it dies"),
          check("fails with a SourceError when it answers nothing")
        ])
    )
  )

  everyCheckCaught(sourceChecks(["it dies", "it answers nothing"]))
})

// ---------------------------------------------------------------------------------------------
// A ledger in memory, with bugs to switch on.

interface LedgerBugs {
  /** Counts earlier attempts, gives way, then records: concurrent starts share an attempt number. */
  readonly racyStart?: boolean
  /** Numbers attempts per partition across pipelines. */
  readonly ignoresPipeline?: boolean
  /** Gives the first run of each partition in `history`, not the latest. */
  readonly firstInHistory?: boolean
  /** Moves the heartbeat of a finished run too (what `MemoryLedger` did). */
  readonly beatsFinishedRuns?: boolean
  /** Accepts a run id it does not know. */
  readonly acceptsUnknownRuns?: boolean
  /** Records no error, from `finish` or `fail`. */
  readonly dropsErrors?: boolean
  /** Numbers attempts from 0. */
  readonly countsFromZero?: boolean
  /** Gives a partition's runs newest first. */
  readonly runsNewestFirst?: boolean
}

const brokenLedger = (bugs: LedgerBugs) =>
  Layer.sync(Ledger.Ledger, () => {
    const runs: Array<Ledger.Run> = []
    const partitionKey = (run: { day: string; timeZone: string }) => `${run.day}|${run.timeZone}`
    const same = (pipeline: string, partition: Partition.Partition) => (run: Ledger.Run) =>
      (bugs.ignoresPipeline || run.pipeline === pipeline) && partitionKey(run) === partitionKey(partition)
    const now = Effect.map(Clock.currentTimeMillis, Timestamp.format)
    const update = (runId: number, change: (at: string, run: Ledger.Run) => Partial<Ledger.Run>) =>
      Effect.flatMap(now, (at) => {
        const index = runs.findIndex((run) => run.id === runId)
        if (index < 0) {
          return bugs.acceptsUnknownRuns
            ? Effect.void
            : Effect.fail(new Ledger.LedgerError({ operation: `run ${runId}`, reason: "no such run" }))
        }
        runs[index] = { ...runs[index]!, ...change(at, runs[index]!) }
        return Effect.void
      })
    const ended = (at: string, status: Ledger.Status, error: string | null) => ({
      status,
      finishedAt: at,
      heartbeatAt: at,
      error
    })
    return Ledger.Ledger.of({
      start: (pipeline, partition, runner) =>
        Effect.gen(function* () {
          const attempt = runs.filter(same(pipeline, partition)).length + (bugs.countsFromZero ? 0 : 1)
          if (bugs.racyStart) yield* Effect.yieldNow
          const at = yield* now
          const run: Ledger.Run = {
            ...{ id: runs.length + 1, pipeline, day: partition.day, timeZone: partition.timeZone, attempt, runner },
            ...{ status: "running", samplesRead: null, rowsWritten: null, rowsDeleted: null, error: null },
            ...{ startedAt: at, finishedAt: null, heartbeatAt: at }
          }
          runs.push(run)
          return run.id
        }),
      heartbeat: (runId) =>
        update(runId, (at, run) => (run.status === "running" || bugs.beatsFinishedRuns ? { heartbeatAt: at } : {})),
      finish: (runId, report: RunReport.RunReport) =>
        update(runId, (at) => ({
          ...ended(
            at,
            report.status,
            report.error === undefined || bugs.dropsErrors ? null : `${report.error.tag}: ${report.error.message}`
          ),
          samplesRead: report.samplesRead,
          rowsWritten: report.rowsWritten,
          rowsDeleted: report.rowsDeleted
        })),
      fail: (runId, error) => update(runId, (at) => ended(at, "failed", bugs.dropsErrors ? null : error)),
      history: (pipeline, options = {}) =>
        Effect.sync(() => {
          const latest = new Map<string, Ledger.Run>()
          for (const run of runs) {
            if (run.pipeline !== pipeline) continue
            if (options.from !== undefined && run.day < options.from) continue
            if (options.to !== undefined && run.day > options.to) continue
            if (!(bugs.firstInHistory && latest.has(partitionKey(run)))) latest.set(partitionKey(run), run)
          }
          return [...latest.values()].sort((a, b) => (partitionKey(a) < partitionKey(b) ? -1 : 1))
        }),
      runs: (pipeline, partition) =>
        Effect.sync(() => {
          const found = runs.filter((run) => run.pipeline === pipeline && same(pipeline, partition)(run))
          return bugs.runsNewestFirst ? found.reverse() : found
        })
    })
  })

describe("LedgerContract catches", () => {
  const check = (prefix: string) => named(ledgerChecks, prefix)

  it.effect("nothing in the correct version of the broken ledger", () =>
    Effect.map(LedgerContract.evaluate(brokenLedger({})), (outcomes) => expect(failing(outcomes)).toEqual([]))
  )

  it.effect("a ledger whose concurrent starts reuse an attempt number", () =>
    Effect.gen(function* () {
      const outcomes = yield* LedgerContract.evaluate(brokenLedger({ racyStart: true }))
      expect(failing(outcomes)).toEqual([check("concurrent starts")])
      expect(messageOf(outcomes, check("concurrent starts"))).toMatch(/got \[1,1,1,1,1,1,1,1\]/)
    })
  )

  it.effect("a ledger that numbers attempts across pipelines", () =>
    Effect.map(LedgerContract.evaluate(brokenLedger({ ignoresPipeline: true })), (outcomes) =>
      expect(failing(outcomes)).toEqual([
        check("concurrent starts"),
        check("pipelines are separate"),
        check("history gives the latest"),
        check("runs gives every attempt"),
        check("records a run of Pipeline.runRecorded")
      ])
    )
  )

  it.effect("a ledger whose history gives the first run, not the latest", () =>
    Effect.map(LedgerContract.evaluate(brokenLedger({ firstInHistory: true })), (outcomes) =>
      expect(failing(outcomes)).toEqual([check("pipelines are separate"), check("history gives the latest")])
    )
  )

  it.effect("a ledger whose heartbeat moves a finished run (what MemoryLedger did)", () =>
    Effect.map(LedgerContract.evaluate(brokenLedger({ beatsFinishedRuns: true })), (outcomes) =>
      expect(failing(outcomes)).toEqual([check("heartbeat moves")])
    )
  )

  it.effect("a ledger that accepts a run it does not know", () =>
    Effect.map(LedgerContract.evaluate(brokenLedger({ acceptsUnknownRuns: true })), (outcomes) =>
      expect(failing(outcomes)).toEqual([check("heartbeat, finish and fail of a run that does not exist")])
    )
  )

  it.effect("a ledger that records no error", () =>
    Effect.map(LedgerContract.evaluate(brokenLedger({ dropsErrors: true })), (outcomes) =>
      expect(failing(outcomes)).toEqual([check("finish records"), check("fail records")])
    )
  )

  it.effect("a ledger that numbers attempts from 0", () =>
    Effect.map(LedgerContract.evaluate(brokenLedger({ countsFromZero: true })), (outcomes) =>
      expect(failing(outcomes)).toEqual([
        check("start records"),
        check("concurrent starts"),
        check("pipelines are separate"),
        check("history gives the latest"),
        check("runs gives every attempt"),
        check("records a run of Pipeline.runRecorded")
      ])
    )
  )

  it.effect("a ledger that gives a partition's runs newest first", () =>
    Effect.map(LedgerContract.evaluate(brokenLedger({ runsNewestFirst: true })), (outcomes) =>
      expect(failing(outcomes)).toEqual([check("start records"), check("runs gives every attempt")])
    )
  )

  everyCheckCaught(ledgerChecks)
})
