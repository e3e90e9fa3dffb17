/**
 * Buffers of one repeated byte, shared per value and grown on demand: the
 * expected side of every pattern compare (memcmp against a fill) and the
 * source of pattern writes. Callers only read them.
 */
const buffers = new Map<number, Buffer>();

/** At least `len` bytes of `value & 0xff` (the shared buffer itself: do not modify). */
export function patternBuffer(value: number, len: number): Buffer {
  const v = value & 0xff;
  let b = buffers.get(v);
  if (!b || b.length < len) {
    b = Buffer.alloc(Math.max(len, 4096), v);
    buffers.set(v, b);
  }
  return b;
}
