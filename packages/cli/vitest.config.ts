import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "cli",
    include: ["test/**/*.test.ts"],
    // each test spawns delfos-etl processes, several of 1-2 s on 2 busy cores
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
