/**
 * @delfos/postgres: how the project reaches Postgres. Each module is a namespace:
 * `Connection.parse(url)`, `EmbeddedPostgres.layerClient({ dataDir })`, `BulkCopy.layer(url)`.
 */
export * as BulkCopy from "./BulkCopy.ts"
export * as Connection from "./Connection.ts"
export * as EmbeddedPostgres from "./EmbeddedPostgres.ts"
