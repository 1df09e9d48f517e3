import { defineConfig } from "tsup"

/** The build every published package shares: ESM + .d.ts for Node 22+, from `entry`. */
export const packageConfig = (entry: Array<string> = ["src/index.ts"]) =>
  defineConfig({
    entry,
    format: ["esm"],
    dts: { compilerOptions: { composite: false, incremental: false } },
    tsconfig: "tsconfig.build.json",
    sourcemap: true,
    clean: true,
    target: "node22",
    treeshake: true
  })
