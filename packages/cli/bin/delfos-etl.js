#!/usr/bin/env node
// The command lives in dist/ (built); this file exists before the build so that npm links it.
import "../dist/bin.js"
