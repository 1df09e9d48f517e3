import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "source-http",
    include: ["test/**/*.test.ts"]
  }
})
