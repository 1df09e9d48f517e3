/**
 * @delfos/test-utils: helpers shared by the workspace's tests, each module a namespace:
 * `TestDatabase.acquire()`, `TestDatabase.layer`.
 */
export * as TestDatabase from "./TestDatabase.ts"
export * as TestFonte from "./TestFonte.ts"
