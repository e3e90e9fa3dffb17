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
