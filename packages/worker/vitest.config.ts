import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "worker",
    include: ["test/**/*.test.ts"],
    // worker processes on a real queue
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
