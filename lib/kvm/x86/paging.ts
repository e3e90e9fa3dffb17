/**
 * Page tables for the guest agent: 4-level paging (Intel SDM Vol. 3A §4.5,
 * AMD APM Vol. 2 §5.3) with large leaves only: 1 GiB pages in the PDPT when
 * the vCPU has them (CPUID 0x80000001 EDX[26], "Page1GB"), else 2 MiB pages
 * in page directories. Below 2^47 the map is the identity (VA == GPA);
 * guest-physical memory at or above 2^47 (a 48- to 52-bit MAXPHYADDR) has
 * no canonical identity address, so it is mapped through an alias window in
 * the lower half, as the C selftests reach high GPAs through virt_map().
 * Only what the program can touch is mapped; any other address faults, and
 * without an IDT a fault is a triple fault (KVM_EXIT_SHUTDOWN).
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

/** [va, va + size) maps [gpa, gpa + size). */
export interface Mapping {
  readonly va: bigint;
  readonly gpa: bigint;
  readonly size: bigint;
}

export interface IdentityMapPlan {
  /** 1 GiB or 2 MiB. */
  readonly pageSize: bigint;
  /** Disjoint, sorted, page-aligned identity ranges to map. */
  readonly ranges: readonly GpaRange[];
  /** Every mapping, identity ranges and alias windows, sorted by VA. */
  readonly mappings: readonly Mapping[];
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
export function planIdentityMap(ranges: readonly GpaRange[], gbPages: boolean, aliased: readonly GpaRange[] = []): IdentityMapPlan {
  for (const r of ranges) {
    if (r.gpa < 0n || r.size < 0n || r.gpa + r.size > MAX_IDENTITY_GPA) {
      throw new RangeError(`[0x${r.gpa.toString(16)}, +0x${r.size.toString(16)}) is not below 2^47`);
    }
  }
  const pageSize = gbPages ? PAGE_1G : PAGE_2M;
  const merged = mergeAligned(ranges, pageSize);
  const mappings: Mapping[] = merged.map((r) => ({ va: r.gpa, gpa: r.gpa, size: r.size }));
  mappings.push(...aliasWindows(mergeAligned(aliased, pageSize), merged));
  mappings.sort((a, b) => (a.va < b.va ? -1 : 1));
  const vas = mappings.map((m) => ({ gpa: m.va, size: m.size }));
  const pdpts = units(vas, PAGE_512G);
  const pds = gbPages ? 0n : units(vas, PAGE_1G);
  return { pageSize, ranges: merged, mappings, tables: Number(1n + pdpts + pds), leaves: units(vas, pageSize) };
}

/** Where alias windows start: 64 TiB, half-way up the lower canonical half. */
export const ALIAS_BASE = 1n << 46n;

/**
 * Linear windows for guest-physical ranges the identity map cannot reach,
 * placed from ALIAS_BASE upwards around the identity ranges, with one
 * unmapped page between windows so a run-away access faults.
 */
function aliasWindows(high: readonly GpaRange[], identity: readonly GpaRange[]): Mapping[] {
  const out: Mapping[] = [];
  let cursor = ALIAS_BASE;
  for (const r of high) {
    const unit = r.size >= PAGE_1G && r.gpa % PAGE_1G === 0n ? PAGE_1G : PAGE_2M;
    cursor = ((cursor + unit - 1n) / unit) * unit;
    for (;;) {
      const clash = identity.find((i) => cursor < i.gpa + i.size && i.gpa < cursor + r.size);
      if (!clash) break;
      cursor = ((clash.gpa + clash.size + unit - 1n) / unit) * unit;
    }
    if (cursor + r.size > MAX_IDENTITY_GPA) {
      throw new RangeError(`no room below 2^47 for an alias of [0x${r.gpa.toString(16)}, +0x${r.size.toString(16)})`);
    }
    out.push({ va: cursor, gpa: r.gpa, size: r.size });
    cursor += r.size + unit;
  }
  return out;
}

/** The linear address of `gpa` under `plan`, or undefined when nothing maps it. */
export function linearAddress(plan: IdentityMapPlan, gpa: bigint): bigint | undefined {
  const m = plan.mappings.find((x) => gpa >= x.gpa && gpa < x.gpa + x.size);
  return m ? m.va + (gpa - m.gpa) : undefined;
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
  for (const m of plan.mappings) {
    for (let off = 0n; off < m.size; off += plan.pageSize) {
      const va = m.va + off;
      const pa = m.gpa + off;
      const l4 = (va >> 39n) & 511n;
      const l3 = (va >> 30n) & 511n;
      const pdpt = table(pdptOf, va >> 39n);
      if (pdpt.fresh) set(0, l4, at(pdpt.index) | PTE_P | PTE_RW | PTE_A);
      if (plan.pageSize === PAGE_1G) {
        set(pdpt.index, l3, pa | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_PS);
        continue;
      }
      const pd = table(pdOf, va >> 30n);
      if (pd.fresh) set(pdpt.index, l3, at(pd.index) | PTE_P | PTE_RW | PTE_A);
      set(pd.index, (va >> 21n) & 511n, pa | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_PS);
    }
  }
  if (next !== plan.tables) throw new Error(`identity map: planned ${plan.tables} tables, built ${next}`);
  return out;
}
