/**
 * Which turbines a command runs: those of `--turbines WTG01,WTG02`, every one the source lists
 * (`--turbines all`), or none (the source's default series, as the reference has it); and the
 * partitions that makes of a range of days.
 */
import { type Asset, Partition, Source } from "@delfos/etl"
import * as Effect from "effect/Effect"
import type { Settings } from "./Settings.ts"
import { UsageError } from "./Settings.ts"

/** The turbines of the settings, the source asked for its list when they are `all`. */
export const resolve = (
  assets: Settings["assets"]
): Effect.Effect<ReadonlyArray<Asset.AssetId> | undefined, Source.SourceError | UsageError, Source.Source> =>
  Effect.gen(function* () {
    if (assets !== "all") return assets
    const source = yield* Source.Source
    if (source.assets === undefined) {
      return yield* new UsageError({ message: `--turbines all: the source ${source.name} does not list turbines` })
    }
    const listed = yield* source.assets
    if (listed.length === 0) {
      return yield* new UsageError({ message: `--turbines all: the source ${source.name} lists no turbines` })
    }
    return listed
  })

/** The partitions of `days` for each turbine (day by day, turbines in order), or of the default series. */
export const partitions = (
  days: ReadonlyArray<Partition.Partition>,
  assets: ReadonlyArray<Asset.AssetId> | undefined
): Array<Partition.Partition> => Partition.forAssets(days, assets)
