// The kit on the core's own implementations, in memory.
import { MemoryLedger, MemorySink, MemorySource } from "@delfos/etl"
import { LedgerContract, SinkContract, SourceContract } from "../src/index.ts"

SinkContract.run("MemorySink", MemorySink.layer(), {
  readRows: MemorySink.MemorySink.use((memory) => memory.rows)
})

SourceContract.run("MemorySource", (fixture) => MemorySource.layer(fixture.frame, { chunkSize: 50 }))

SourceContract.run("MemorySource, from rows, one sample a frame", (fixture) =>
  MemorySource.layer(fixture.rows, { chunkSize: 1 })
)

LedgerContract.run("MemoryLedger", MemoryLedger.layer())
