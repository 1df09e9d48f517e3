import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "fonte",
    include: ["test/**/*.test.ts"]
  }
})
