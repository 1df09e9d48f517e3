import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: ["packages/*", "examples"],
    globalSetup: ["./scripts/test-database.ts"],
    // The JSON report is what .ci/run reads for its totals line.
    reporters: ["default", ["json", { outputFile: "build/test-results.json" }]]
  }
})
