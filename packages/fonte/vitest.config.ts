import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "fonte",
    include: ["test/**/*.test.ts"],
    // a real server on a real database, child processes
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
