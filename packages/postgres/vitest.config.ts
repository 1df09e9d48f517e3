import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "postgres",
    include: ["test/**/*.test.ts"],
    // starts embedded databases and child processes
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
