/**
 * @delfos/ui: a local web UI over a delfos-etl target (the run ledger, quality findings, the
 * 10-minute series): its JSON API on Effect's HttpApi, and the built page it serves.
 */
export * as Api from "./Api.ts"
export * as Fleet from "./Fleet.ts"
export * as Raw from "./Raw.ts"
export * as Ui from "./Ui.ts"
