/**
 * An asset is one machine of a farm whose samples are kept apart: a wind turbine, named by the
 * source (`WTG01`). A partition is a day of one asset; without an asset it is the source's default
 * series, as the reference (one turbine, no names) has it.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

const pattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/

/** An asset's id: letters, digits, `.`, `_`, `-`, at most 32, starting with a letter or digit (`WTG01`). */
export const AssetId = Schema.String.check(
  Schema.makeFilter(
    (text: string) =>
      pattern.test(text) || `expected an asset id of letters, digits, . _ - (at most 32), such as WTG01, got "${text}"`
  )
).pipe(Schema.brand("AssetId"))
export type AssetId = typeof AssetId.Type

/** An asset id that cannot be used. */
export class InvalidAsset extends Schema.TaggedError<InvalidAsset>()("InvalidAsset", {
  input: Schema.String,
  message: Schema.String
}) {}

/** Reads one asset id. */
export const parse = (text: string): Effect.Effect<AssetId, InvalidAsset> =>
  pattern.test(text)
    ? Effect.succeed(text as AssetId)
    : Effect.fail(
        new InvalidAsset({
          input: text,
          message: `invalid asset "${text}": letters, digits, . _ - (at most 32), such as WTG01`
        })
      )

/** Reads a comma-separated list (`WTG01,WTG02`), without repeats, in the order given. */
export const parseList = (text: string): Effect.Effect<Array<AssetId>, InvalidAsset> =>
  Effect.gen(function* () {
    const names = text
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== "")
    if (names.length === 0) {
      return yield* new InvalidAsset({ input: text, message: "no asset named: give ids such as WTG01,WTG02" })
    }
    const out: Array<AssetId> = []
    for (const name of names) {
      const id = yield* parse(name)
      if (!out.includes(id)) out.push(id)
    }
    return out
  })

/** Orders asset ids as people read them: `WTG2` before `WTG10`. */
export const compare = (a: AssetId | undefined, b: AssetId | undefined): number =>
  a === b ? 0 : a === undefined ? -1 : b === undefined ? 1 : collator.compare(a, b)

const collator = new Intl.Collator("en", { numeric: true })
