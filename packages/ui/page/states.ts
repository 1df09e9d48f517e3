/**
 * How a partition's state looks: an Okabe–Ito colour (safe for the common colour-vision
 * deficiencies) and, so that colour is never the only cue, a glyph of its own and its name.
 */
import type { State } from "./api.ts"

export interface Look {
  readonly label: string
  readonly glyph: string
  readonly description: string
}

export const looks: Record<State, Look> = {
  succeeded: { label: "succeeded", glyph: "✓", description: "loaded" },
  degraded: { label: "degraded", glyph: "!", description: "loaded, below the quality policy" },
  empty: { label: "empty", glyph: "○", description: "the source had no samples" },
  failed: { label: "failed", glyph: "✕", description: "failed (see its error)" },
  running: { label: "running", glyph: "↻", description: "running now" },
  missing: { label: "missing", glyph: "·", description: "never run" }
}

export const order: ReadonlyArray<State> = ["succeeded", "degraded", "empty", "failed", "running", "missing"]

export const qualityGlyph = { ok: "", warn: "⚠", error: "✕" } as const
