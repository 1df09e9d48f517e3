import { defineConfig } from "tsup"

/**
 * The command as a bundle: a small entry (`bin.js`: the parser, commander only) and a chunk per
 * command, loaded when it runs. The workspace packages and Effect are bundled in, so a command
 * loads a few files instead of ~300 modules resolved one by one; what ships files of its own
 * (PGlite's WebAssembly, graphile-worker and its `pg`) and commander (CommonJS) stay packages.
 */
export default defineConfig({
  entry: ["src/index.ts", "src/bin.ts"],
  format: ["esm"],
  platform: "node",
  target: "node22",
  dts: false,
  tsconfig: "tsconfig.build.json",
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: false,
  noExternal: [/^@delfos\//, /^effect(\/|$)/, /^@effect\//],
  // Bundled CommonJS (a few of @effect/platform-node's dependencies) calls require for Node's modules.
  banner: {
    js: 'import { createRequire as __delfosRequire } from "node:module"; const require = __delfosRequire(import.meta.url);'
  },
  external: ["commander", "@electric-sql/pglite", "graphile-worker"]
})
