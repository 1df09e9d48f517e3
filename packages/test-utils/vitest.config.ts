import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "test-utils",
    include: ["test/**/*.test.ts"],
    // databases made and dropped
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
