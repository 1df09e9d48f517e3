/** How the command line writes numbers and durations: one formatter for every command. */

/** `1,152`: thousands separated, whatever the machine's locale. */
export const number = (n: number): string => n.toLocaleString("en-US")

/** `0.12s` under ten seconds, `42s` above. */
export const seconds = (ms: number): string =>
  ms < 10_000 ? `${(ms / 1000).toFixed(2)}s` : `${Math.round(ms / 1000)}s`

/** `1 partition`, `3 partitions`. */
export const plural = (count: number, noun: string): string => `${number(count)} ${noun}${count === 1 ? "" : "s"}`
