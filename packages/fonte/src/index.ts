/**
 * @delfos/fonte: the reference sensors API (SPEC §3) over Postgres, and its synthetic data.
 */
export * as Api from "./Api.ts"
export * as FonteClient from "./FonteClient.ts"
export * as Generator from "./Generator.ts"
export * as Requests from "./Requests.ts"
export * as Seeding from "./Seeding.ts"
export * as SensorJson from "./SensorJson.ts"
export * as SensorStore from "./SensorStore.ts"
export * as Server from "./Server.ts"
