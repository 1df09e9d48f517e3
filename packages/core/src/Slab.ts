/**
 * Typed arrays carved from shared buffers of 1 MiB. V8 keeps every typed array over 64 bytes
 * outside its heap, and allocating one (with its buffer, zeroed, and tracked for the collector)
 * costs microseconds: more than resampling or unpivoting a partition once a fleet's day has
 * thousands of partitions of tens of kilobytes each. Arrays come zeroed, as `new Float64Array(n)`
 * does, and never share bytes; a buffer is freed once no array carved from it is left.
 */

const slabBytes = 1 << 20

// Allocated on first use: importing the module allocates nothing.
let slab = new ArrayBuffer(0)
let used = 0

/** `size` zeroed bytes at an offset aligned for any typed array: in the current slab, or alone when large. */
const carve = (size: number): { readonly buffer: ArrayBuffer; readonly offset: number } => {
  const aligned = Math.ceil(size / 8) * 8
  if (aligned > slabBytes / 4) return { buffer: new ArrayBuffer(aligned), offset: 0 }
  if (used + aligned > slab.byteLength) {
    slab = new ArrayBuffer(slabBytes)
    used = 0
  }
  const offset = used
  used += aligned
  return { buffer: slab, offset }
}

/** `length` zeroed doubles. */
export const float64 = (length: number): Float64Array => {
  const { buffer, offset } = carve(length * 8)
  return new Float64Array(buffer, offset, length)
}

/** Space for `length` rows of (double, double, uint16): two `Float64Array`s and a `Uint16Array`, zeroed. */
export const rows = (length: number): readonly [Float64Array, Float64Array, Uint16Array] => {
  const { buffer, offset } = carve(length * 18)
  return [
    new Float64Array(buffer, offset, length),
    new Float64Array(buffer, offset + length * 8, length),
    new Uint16Array(buffer, offset + length * 16, length)
  ]
}
