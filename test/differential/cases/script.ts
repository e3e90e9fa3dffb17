/** Small builders for probe scripts (tools/kvm_probe/script.ts format). */

export const PAGE = 4096;

/** Join script lines. */
export const script = (...lines: (string | readonly string[])[]): string => `${lines.flat().join('\n')}\n`;

/** /dev/kvm and one default VM, as `kvm` and `vm`. */
export const prelude = ['kvm = open_kvm', 'vm = create_vm kvm 0'];

export const hex = (v: bigint | number): string => {
  const b = BigInt(v);
  return b < 0n ? `-0x${(-b).toString(16)}` : `0x${b.toString(16)}`;
};

/** 0..n-1 */
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Every bit of an n-bit word, as a hex literal. */
export const bits = (n: number): string[] => range(n).map((i) => hex(1n << BigInt(i)));

/** A small deterministic generator (mulberry32) so sweeps are random-ish but the same on every run. */
export function rng(seed: number): { int(n: number): number; pick<T>(xs: readonly T[]): T } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
  };
}
