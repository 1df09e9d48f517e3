/**
 * delfos-etl: the command line, as a library (`main(argv)`), and its command programs.
 */
export * as Cli from "./Cli.ts"
export * as Commands from "./Commands.ts"
export * as Demo from "./Demo.ts"
export * as Progress from "./Progress.ts"
export * as Settings from "./Settings.ts"
