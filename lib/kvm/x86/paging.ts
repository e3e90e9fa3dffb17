/**
 * Identity page tables for the guest agent: 4-level paging (Intel SDM Vol.
 * 3A §4.5, AMD APM Vol. 2 §5.3), VA == GPA, with large leaves only: 1 GiB
 * pages in the PDPT when the vCPU has them (CPUID 0x80000001 EDX[26],
 * "Page1GB"), else 2 MiB pages in page directories. Only what the program
 * can touch is mapped; any other address faults, and without an IDT a
 * fault is a triple fault (KVM_EXIT_SHUTDOWN).
 */

export const PAGE_4K = 0x1000n;
export const PAGE_2M = 0x200000n;
export const PAGE_1G = 0x40000000n;
const PAGE_512G = 0x8000000000n;
/**
 * 4-level paging translates 48-bit linear addresses, and an identity map
 * must use the lower canonical half (bit 47 clear; SDM Vol. 1 §3.3.7.1).
 */
export const MAX_IDENTITY_GPA = 1n << 47n;

/* Paging-structure entry bits (SDM Vol. 3A §4.5.4, Tables 4-15 ... 4-20). */
export const PTE_P = 1n << 0n;
export const PTE_RW = 1n << 1n;
export const PTE_A = 1n << 5n;
export const PTE_D = 1n << 6n;
export const PTE_PS = 1n << 7n;
/** Bits 51:12 (or 51:21/51:30 for large leaves) of an entry hold the address. */
export const PTE_ADDR = ((1n << 52n) - 1n) & ~0xfffn;

/** A range of guest-physical bytes, [gpa, gpa + size). */
export interface GpaRange {
  readonly gpa: bigint;
  readonly size: bigint;
}

export interface IdentityMapPlan {
  /** 1 GiB or 2 MiB. */
  readonly pageSize: bigint;
  /** Disjoint, sorted, page-aligned ranges to map. */
  readonly ranges: readonly GpaRange[];
  /** 4 KiB tables needed: the PML4, the PDPTs and (2 MiB pages) the PDs. */
  readonly tables: number;
  /** How many leaf entries map them. */
  readonly leaves: bigint;
}

/** Merge ranges rounded out to `unit`; empty ranges are dropped. */
function mergeAligned(ranges: readonly GpaRange[], unit: bigint): GpaRange[] {
  const iv = ranges
    .filter((r) => r.size > 0n)
    .map((r) => ({ start: (r.gpa / unit) * unit, end: ((r.gpa + r.size + unit - 1n) / unit) * unit }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: { start: bigint; end: bigint }[] = [];
  for (const r of iv) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) {
      if (r.end > last.end) last.end = r.end;
    } else {
      out.push({ ...r });
    }
  }
  return out.map((r) => ({ gpa: r.start, size: r.end - r.start }));
}

const units = (ranges: readonly GpaRange[], unit: bigint): bigint =>
  mergeAligned(ranges, unit).reduce((n, r) => n + r.size / unit, 0n);

/**
 * What must be mapped for `ranges`, and how many tables it takes, computed
 * from the merged ranges alone (a huge range costs no work before the
 * caller decides it does not fit).
 */
export function planIdentityMap(ranges: readonly GpaRange[], gbPages: boolean): IdentityMapPlan {
  for (const r of ranges) {
    if (r.gpa < 0n || r.size < 0n || r.gpa + r.size > MAX_IDENTITY_GPA) {
      throw new RangeError(`[0x${r.gpa.toString(16)}, +0x${r.size.toString(16)}) is not below 2^47`);
    }
  }
  const pageSize = gbPages ? PAGE_1G : PAGE_2M;
  const merged = mergeAligned(ranges, pageSize);
  const pdpts = units(merged, PAGE_512G);
  const pds = gbPages ? 0n : units(merged, PAGE_1G);
  return { pageSize, ranges: merged, tables: Number(1n + pdpts + pds), leaves: units(merged, pageSize) };
}

/**
 * The tables of `plan`, laid out from `base` (4 KiB aligned): the PML4
 * first (so CR3 = base), then each PDPT followed by the PDs it points to,
 * in address order. Entries are present, writable, supervisor, write-back
 * (PWT = PCD = PAT = 0); A and D are preset so the walker never has to
 * write them back.
 */
export function buildIdentityMap(base: bigint, plan: IdentityMapPlan): Uint8Array {
  if (base % PAGE_4K !== 0n) throw new RangeError(`page tables at 0x${base.toString(16)}: not 4 KiB aligned`);
  const out = new Uint8Array(plan.tables * 4096);
  const dv = new DataView(out.buffer);
  let next = 1;
  const pdptOf = new Map<bigint, number>();
  const pdOf = new Map<bigint, number>();
  const table = (map: Map<bigint, number>, key: bigint): { index: number; fresh: boolean } => {
    const have = map.get(key);
    if (have !== undefined) return { index: have, fresh: false };
    const index = next++;
    map.set(key, index);
    return { index, fresh: true };
  };
  const set = (tableIndex: number, entry: bigint, value: bigint): void =>
    dv.setBigUint64(tableIndex * 4096 + Number(entry) * 8, value, true);
  const at = (tableIndex: number): bigint => base + BigInt(tableIndex) * PAGE_4K;
  for (const r of plan.ranges) {
    for (let va = r.gpa; va < r.gpa + r.size; va += plan.pageSize) {
      const l4 = (va >> 39n) & 511n;
      const l3 = (va >> 30n) & 511n;
      const pdpt = table(pdptOf, va >> 39n);
      if (pdpt.fresh) set(0, l4, at(pdpt.index) | PTE_P | PTE_RW | PTE_A);
      if (plan.pageSize === PAGE_1G) {
        set(pdpt.index, l3, va | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_PS);
        continue;
      }
      const pd = table(pdOf, va >> 30n);
      if (pd.fresh) set(pdpt.index, l3, at(pd.index) | PTE_P | PTE_RW | PTE_A);
      set(pd.index, (va >> 21n) & 511n, va | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_PS);
    }
  }
  if (next !== plan.tables) throw new Error(`identity map: planned ${plan.tables} tables, built ${next}`);
  return out;
}
