/**
 * Exact statistics for checking the resampler: every finite double is an integer multiple of
 * 2^-1074, so sums, means and variances of doubles are exact rationals in BigInt arithmetic, and
 * each is rounded to a double once, at the end. Slow and obviously right; for tests only.
 */

/** `x · 2^1074` as an exact integer (any finite double). */
export const scaled = (x: number): bigint => {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, x)
  const bits = view.getBigUint64(0)
  const exponent = Number((bits >> 52n) & 0x7ffn)
  const fraction = bits & ((1n << 52n) - 1n)
  // A normal double is (2^52 + fraction) · 2^(exponent - 1075), a subnormal one fraction · 2^-1074.
  const magnitude = exponent === 0 ? fraction : (fraction | (1n << 52n)) << BigInt(exponent - 1)
  return bits >> 63n === 1n ? -magnitude : magnitude
}

const bitLength = (n: bigint): number => (n === 0n ? 0 : n.toString(2).length)

/** `x · 2^e` without overflowing or underflowing on the way (exact while the result is a normal double). */
const timesPowerOfTwo = (x: number, e: number): number => {
  let result = x
  let rest = e
  for (; rest > 1000; rest -= 1000) result *= 2 ** 1000
  for (; rest < -1000; rest += 1000) result *= 2 ** -1000
  return result * 2 ** rest
}

/** `(p / q) · 2^e` as a double (q > 0), from a quotient of at least 64 bits: within an ulp or so. */
const ratio = (p: bigint, q: bigint, e: number): number => {
  if (p === 0n) return 0
  const magnitude = p < 0n ? -p : p
  const shift = 66 - (bitLength(magnitude) - bitLength(q))
  const quotient = shift >= 0 ? (magnitude << BigInt(shift)) / q : magnitude / (q << BigInt(-shift))
  return (p < 0n ? -1 : 1) * timesPowerOfTwo(Number(quotient), e - shift)
}

/** The integer square root, ⌊√n⌋, by Newton's method. */
const isqrt = (n: bigint): bigint => {
  if (n < 2n) return n
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2))
  for (;;) {
    const next = (x + n / x) >> 1n
    if (next >= x) return x
    x = next
  }
}

/** `√(p / q) · 2^e` as a double (p ≥ 0, q > 0), from a root of at least 64 bits. */
const squareRoot = (p: bigint, q: bigint, e: number): number => {
  if (p === 0n) return 0
  // An even shift making p / q about 2^132, so that its integer root has about 66 bits.
  const shift = 2 * Math.ceil((132 - (bitLength(p) - bitLength(q))) / 2)
  const quotient = shift >= 0 ? (p << BigInt(shift)) / q : p / (q << BigInt(-shift))
  return timesPowerOfTwo(Number(isqrt(quotient)), e - shift / 2)
}

export interface Statistics {
  readonly count: number
  readonly mean: number
  readonly min: number
  readonly max: number
  /** The sample standard deviation (ddof = 1), rounded once; NaN below two values, Infinity past the largest double. */
  readonly std: number
  /** The mean of |x|: the scale against which a mean's rounding is measured when the signs are mixed. */
  readonly meanMagnitude: number
}

/** The statistics of some finite doubles, exactly, each rounded once to a double. */
export const statistics = (values: ReadonlyArray<number>): Statistics => {
  const n = BigInt(values.length)
  let sum = 0n
  let squares = 0n
  let magnitudes = 0n
  for (const x of values) {
    const v = scaled(x)
    sum += v
    squares += v * v
    magnitudes += v < 0n ? -v : v
  }
  // Σ(x - mean)² = (n Σx² - (Σx)²) / n, and the variance is that over n - 1; all in units of 2^-1074.
  const deviations = n * squares - sum * sum
  return {
    count: values.length,
    mean: ratio(sum, n, -1074),
    min: Math.min(...values),
    max: Math.max(...values),
    std: values.length < 2 ? Number.NaN : squareRoot(deviations, n * (n - 1n), -1074),
    meanMagnitude: ratio(magnitudes, n, -1074)
  }
}
