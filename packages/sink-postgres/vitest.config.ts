import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "sink-postgres",
    include: ["test/**/*.test.ts"],
    // integration tests on a real database
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
