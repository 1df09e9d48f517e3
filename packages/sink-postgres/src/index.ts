/**
 * @delfos/etl-sink-postgres: a @delfos/etl `Sink` that writes tidy rows to Postgres atomically and
 * idempotently, with its schema's migrations and a run ledger. Each module is a namespace.
 */
export * as Migrations from "./Migrations.ts"
export * as PostgresSink from "./PostgresSink.ts"
export * as RunLedger from "./RunLedger.ts"
