import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "source-http",
    include: ["test/**/*.test.ts"],
    // real HTTP servers, retries with backoff
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
