/**
 * delfos-etl: the `delfos-etl` command. Its programs are the library packages' (`@delfos/etl` and
 * the adapters); what this package exports is the command line itself, `main(argv)`, for a host
 * that wants to run it in process: `process.exitCode = await main(process.argv)`.
 */
export { main } from "./Cli.ts"
