#!/usr/bin/env node
// `delfos-fonte [options]` is `delfos-etl fonte serve [options]`.
process.argv.splice(2, 0, "fonte", "serve")
await import("../dist/bin.js")
