/**
 * @delfos/etl-source-http: a `@delfos/etl` Source over the fonte sensors HTTP API.
 * Each module is a namespace: `HttpSource.layer(...)`, `SensorsJson.decode(...)`.
 */
export * as HttpSource from "./HttpSource.ts"
export * as SensorsJson from "./SensorsJson.ts"
