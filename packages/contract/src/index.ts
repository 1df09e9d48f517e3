/**
 * @delfos/etl-contract: the contracts of @delfos/etl's `Source`, `Sink` and `Ledger` as tests, to
 * run against an implementation of your own. Each module is a namespace: `SinkContract.run(...)`.
 */
export * as Contract from "./Contract.ts"
export * as LedgerContract from "./LedgerContract.ts"
export * as SinkContract from "./SinkContract.ts"
export * as SourceContract from "./SourceContract.ts"
