// The contract kit on the Postgres sink and the run ledger, each on a fresh database.
import { LedgerContract, SinkContract } from "@delfos/etl-contract"
import { TestDatabase } from "@delfos/test-utils"
import { Layer } from "effect"
import { PostgresSink, RunLedger } from "../src/index.ts"
import { storedRows } from "./helpers.ts"

SinkContract.run(
  "PostgresSink (upsert)",
  PostgresSink.layerFromClient().pipe(Layer.provideMerge(TestDatabase.pgClientLayer())),
  { readRows: storedRows }
)

SinkContract.run(
  "PostgresSink (replace)",
  PostgresSink.layerFromClient({ strategy: "replace" }).pipe(Layer.provideMerge(TestDatabase.pgClientLayer())),
  { readRows: storedRows }
)

LedgerContract.run("RunLedger", RunLedger.layerFromClient.pipe(Layer.provide(TestDatabase.pgClientLayer())))
