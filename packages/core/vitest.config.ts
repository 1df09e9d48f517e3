import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "core",
    include: ["test/**/*.test.ts"],
    // pure and in-memory: fast, but property tests run thousands of cases
    testTimeout: 30_000,
    hookTimeout: 120_000
  }
})
