import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "examples",
    include: ["test/**/*.test.ts"],
    // Packs and installs every package, runs the examples as processes.
    testTimeout: 120_000,
    hookTimeout: 300_000
  }
})
