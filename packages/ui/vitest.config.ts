import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "ui",
    include: ["test/**/*.test.ts"],
    // a real server, a real database and a real browser on a busy machine
    testTimeout: 120_000,
    hookTimeout: 240_000
  }
})
