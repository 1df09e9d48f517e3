import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Partition from "../src/Partition.ts"
import * as Resample from "../src/Resample.ts"
import * as SampleFrame from "../src/SampleFrame.ts"
import type { Statistic, Variable } from "../src/Signal.ts"
import * as TidyRows from "../src/TidyRows.ts"
import * as Unpivot from "../src/Unpivot.ts"
import * as Window from "../src/Window.ts"

interface Fixture {
  readonly name: string
  readonly partition: { readonly day: string; readonly timeZone: string }
  readonly every: string
  readonly statistics: ReadonlyArray<Statistic>
  readonly variables: ReadonlyArray<Variable>
  readonly input: ReadonlyArray<{ readonly timestamp: string; readonly [variable: string]: number | string | null }>
  readonly expected: ReadonlyArray<{ readonly timestamp: string; readonly signal: string; readonly value: number }>
}

// The tests read the copy in this package, so that a clone on its own runs them. The canonical
// fixtures live in the project's shared folder beside the repository (`../shared/fixtures/pandas-parity`
// from the repository's root, or from a folder above it for a worktree), in development and CI; when
// that folder is there, the copy must be identical to it, file by file.
const directory = join(import.meta.dirname, "fixtures", "pandas-parity")
const repositoryRoot = join(import.meta.dirname, "..", "..", "..")
const canonicalDirectory = (() => {
  for (let folder = dirname(repositoryRoot); ; folder = dirname(folder)) {
    const candidate = join(folder, "shared", "fixtures", "pandas-parity")
    if (existsSync(candidate)) return candidate
    if (dirname(folder) === folder) return undefined
  }
})()

const fixtures: Array<Fixture> = readdirSync(directory)
  .filter((file) => file.endsWith(".json"))
  .map((file) => JSON.parse(readFileSync(join(directory, file), "utf8")))

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex")

const relativeError = (actual: number, expected: number) =>
  expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected)

const transform = (fixture: Fixture, frames: ReadonlyArray<SampleFrame.SampleFrame>) =>
  Effect.gen(function* () {
    const partition = yield* Partition.parse(fixture.partition.day, fixture.partition.timeZone)
    const every = yield* Window.parseLength(fixture.every)
    const windows = Resample.resample(frames, {
      range: Partition.range(partition),
      variables: fixture.variables,
      statistics: fixture.statistics,
      every
    })
    return { windows, rows: TidyRows.toArray(Unpivot.unpivot(windows)) }
  })

describe("the pandas parity fixtures", () => {
  it.skipIf(canonicalDirectory === undefined)(
    canonicalDirectory === undefined
      ? "are the canonical ones: skipped, no shared/fixtures/pandas-parity beside the repository (the tests use this package's copy as it is)"
      : `are the canonical ones: this package's copy has the same files as ${relative(repositoryRoot, canonicalDirectory)}, with the same SHA-256`,
    () => {
      const canonical = readdirSync(canonicalDirectory!).sort()
      const copy = readdirSync(directory).sort()
      expect(copy, "the copy's files").toEqual(canonical)
      for (const file of canonical) {
        expect(
          sha256(join(directory, file)),
          `${file} differs from the canonical ${join(canonicalDirectory!, file)}`
        ).toBe(sha256(join(canonicalDirectory!, file)))
      }
    }
  )
})

describe("parity with the pandas reference", () => {
  it("covers all six fixtures", () => {
    expect(fixtures.map((fixture) => fixture.name).sort()).toEqual(
      ["dst-autumn", "dst-spring", "edges", "full-day", "gaps", "magnitudes"].sort()
    )
  })

  for (const fixture of fixtures) {
    for (const chunkSize of [Number.POSITIVE_INFINITY, 7]) {
      const how = chunkSize === Number.POSITIVE_INFINITY ? "one frame" : `chunks of ${chunkSize}`
      it.effect(`${fixture.name} (${how}): the same rows, min/max/count exact, mean/std within 1e-9`, () =>
        Effect.gen(function* () {
          const frame = SampleFrame.fromRows(fixture.input, fixture.variables)
          const frames = chunkSize === Number.POSITIVE_INFINITY ? [frame] : SampleFrame.chunks(frame, chunkSize)
          const { rows } = yield* transform(fixture, frames)
          expect(rows.map((row) => `${row.timestamp} ${row.signal}`)).toEqual(
            fixture.expected.map((row) => `${row.timestamp} ${row.signal}`)
          )
          let worst = 0
          rows.forEach((row, i) => {
            const expected = fixture.expected[i]!
            const statistic = row.signal.slice(row.signal.lastIndexOf("_") + 1)
            if (statistic === "mean" || statistic === "std") {
              const error = relativeError(row.value, expected.value)
              worst = Math.max(worst, error)
              expect(error, `${row.timestamp} ${row.signal}: ${row.value} vs ${expected.value}`).toBeLessThanOrEqual(
                1e-9
              )
            } else {
              expect(row.value, `${row.timestamp} ${row.signal}`).toBe(expected.value)
            }
          })
        })
      )
    }
  }

  it.effect("a DST day in Europe/Berlin has 138 (spring) and 150 (autumn) windows", () =>
    Effect.gen(function* () {
      for (const [name, count] of [
        ["dst-spring", 138],
        ["dst-autumn", 150]
      ] as const) {
        const fixture = fixtures.find((candidate) => candidate.name === name)!
        const { windows } = yield* transform(fixture, [SampleFrame.fromRows(fixture.input, fixture.variables)])
        expect(windows.grid.count).toBe(count)
        expect(windows.windowsWithData).toBe(count)
      }
    })
  )

  it.effect("edges: reports the duplicate and the two samples outside the day", () =>
    Effect.gen(function* () {
      const fixture = fixtures.find((candidate) => candidate.name === "edges")!
      const { windows } = yield* transform(fixture, [SampleFrame.fromRows(fixture.input, fixture.variables)])
      expect(windows.duplicates).toBe(1)
      expect(windows.ignored).toBe(2)
      expect(windows.samples).toBe(7)
    })
  )
})
