/**
 * @delfos/etl-worker: @delfos/etl partitions as graphile-worker jobs in the target Postgres, run by
 * any number of worker processes on any machines. Each module is a namespace.
 */
export * as Enqueue from "./Enqueue.ts"
export * as Jobs from "./Jobs.ts"
export * as Liveness from "./Liveness.ts"
export * as Queue from "./Queue.ts"
export * as Schedule from "./Schedule.ts"
export * as Worker from "./Worker.ts"
