/**
 * @delfos/postgres: how the project reaches Postgres. Each module is a namespace:
 * `Connection.parse(url)`, `EmbeddedPostgres.layerClient({ dataDir })`.
 */
export * as Connection from "./Connection.ts"
export * as EmbeddedPostgres from "./EmbeddedPostgres.ts"
