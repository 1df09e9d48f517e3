#!/usr/bin/env node
// `delfos-etl-worker [run|enqueue] [options]` is `delfos-etl worker [run|enqueue] [options]`.
process.argv.splice(2, 0, "worker")
await import("../dist/bin.js")
