/**
 * Who is running partitions, and how a run shows it is still alive: a `Runner` names the process
 * (the CLI gives `host:pid`, a worker its pool id) and sets the heartbeat. While a run is `running`
 * its process writes the run's heartbeat every `heartbeatInterval`; a `running` run whose heartbeat
 * is older than `staleAfter` was abandoned (its process died) and counts as failed.
 *
 * A `Context.Reference`: a library user who provides none gets the defaults below.
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"

export interface Identity {
  /** Who runs, as the ledger records it: `host:pid`, a worker pool's id. Informational only. */
  readonly id: string
  /** Milliseconds between heartbeats of a run in progress. */
  readonly heartbeatInterval: number
  /** Milliseconds without a heartbeat after which a `running` run counts as abandoned. */
  readonly staleAfter: number
}

/** Every 5 seconds; abandoned after 30 (six missed heartbeats). */
export const defaultHeartbeatInterval = 5_000
export const defaultStaleAfter = 30_000

export const defaults: Identity = {
  id: "anonymous",
  heartbeatInterval: defaultHeartbeatInterval,
  staleAfter: defaultStaleAfter
}

export class Runner extends Context.Reference<Identity>("@delfos/etl/Runner", { defaultValue: () => defaults }) {}

export interface RunnerOptions {
  readonly id: string
  /** 5 seconds by default. */
  readonly heartbeatInterval?: Duration.Input | undefined
  /** 30 seconds by default; keep it several heartbeats long. */
  readonly staleAfter?: Duration.Input | undefined
}

/** A runner identity; durations as `Duration.Input` (`"5 seconds"`, or milliseconds). */
export const make = (options: RunnerOptions): Identity => ({
  id: options.id,
  heartbeatInterval:
    options.heartbeatInterval === undefined ? defaultHeartbeatInterval : Duration.toMillis(options.heartbeatInterval),
  staleAfter: options.staleAfter === undefined ? defaultStaleAfter : Duration.toMillis(options.staleAfter)
})

/** A layer providing the runner. */
export const layer = (options: RunnerOptions): Layer.Layer<never> => Layer.succeed(Runner, make(options))
