import { defineConfig } from "tsup"

/**
 * The build every published package shares: ESM for Node 22+, from `entry`. Declarations come
 * from `scripts/build-dts.mjs` (tsc, one .d.ts per module), not from tsup's bundler.
 */
export const packageConfig = (entry: Array<string> = ["src/index.ts"]) =>
  defineConfig({
    entry,
    format: ["esm"],
    dts: false,
    tsconfig: "tsconfig.build.json",
    sourcemap: true,
    clean: true,
    target: "node22",
    treeshake: true
  })
