import { fileURLToPath } from "node:url"
import { defineConfig } from "vite"

/** The page: built once into dist/page, served by the UI server with its API; nothing fetched at run time. */
export default defineConfig({
  root: fileURLToPath(new URL("./page", import.meta.url)),
  base: "./",
  build: {
    outDir: fileURLToPath(new URL("./dist/page", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 200
  }
})
