import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "sink-postgres",
    include: ["test/**/*.test.ts"]
  }
})
