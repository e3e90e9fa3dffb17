/**
 * Small pieces every behaviour shares: page arithmetic, the guest's own view
 * of its page tables (what an `auto` access means on a marker platform), and
 * struct reading for ioctl arguments that point into host memory.
 */
import type { GuestView } from '../kvm/guest_program.js';
import type { HostFaultSpec } from '../kvm/model/platform.js';
import { RangeMap } from '../kvm/model/range_map.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, PAGE_SIZE } from '../kvm/uapi.js';

export const PAGE = BigInt(PAGE_SIZE);
export const SZ_2M_N = 0x200000n;

export const gfnOf = (gpa: bigint): bigint => gpa >> 12n;
export const pageBase = (gpa: bigint): bigint => gpa & ~(PAGE - 1n);
export const isPageAligned = (v: bigint): boolean => (v & (PAGE - 1n)) === 0n;

/** Pages of [gpa, gpa+size), page-aligned start. */
export function* pagesOf(gpa: bigint, size: bigint): Generator<bigint> {
  for (let p = pageBase(gpa); p < gpa + size; p += PAGE) yield p;
}

export const isPrivateAttr = (attrs: bigint): boolean => (attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0n;

/** The GFN range [first, end) covering the pages of [gpa, gpa+size), as RangeMap keys. */
function gfnRange(gpa: bigint, size: bigint): [number, number] {
  const first = gfnOf(pageBase(gpa));
  const end = gfnOf(pageBase(gpa + size + PAGE - 1n));
  return [Number(first), Number(end)];
}

/**
 * A set of GFNs kept as runs (RangeMap), so that adding or clearing a range
 * costs O(log n + runs) however large the range is: a platform's per-page
 * state (TDX accepted pages, poison) must not be walked page by page when
 * KVM zaps 2^24 pages at once.
 */
export class GfnSet {
  private readonly runs = new RangeMap();

  has(gfn: bigint): boolean {
    return this.runs.get(Number(gfn)) !== 0n;
  }

  add(gfn: bigint): void {
    this.runs.set(Number(gfn), Number(gfn) + 1, 1n);
  }

  delete(gfn: bigint): void {
    this.runs.set(Number(gfn), Number(gfn) + 1, 0n);
  }

  /** Add or remove every GFN of [gpa, gpa+size). */
  setRange(gpa: bigint, size: bigint, present: boolean): void {
    const [first, end] = gfnRange(gpa, size);
    this.runs.set(first, end, present ? 1n : 0n);
  }

  clear(): void {
    this.runs.clear();
  }
}

/**
 * The guest's page-table state per gfn on a marker platform: which view
 * (private or shared) the guest's own mapping of the page uses after its
 * last conversion. An `auto` access follows it; pages the guest never
 * converted follow `fallback` (usually the attribute the VMM set up).
 * Runs, not pages: a conversion of a huge range is one store.
 */
export class GuestMapping {
  private readonly priv = new RangeMap();

  set(gpa: bigint, size: bigint, isPrivate: boolean): void {
    const [first, end] = gfnRange(gpa, size);
    this.priv.set(first, end, isPrivate ? 1n : 2n);
  }

  get(gpa: bigint): boolean | undefined {
    const v = this.priv.get(Number(gfnOf(gpa)));
    return v === 0n ? undefined : v === 1n;
  }

  resolve(view: GuestView, gpa: bigint, fallback: () => boolean): boolean {
    if (view === 'private') return true;
    if (view === 'shared') return false;
    return this.get(gpa) ?? fallback();
  }
}

export function isHostFault(v: Uint8Array | HostFaultSpec): v is HostFaultSpec {
  return !(v instanceof Uint8Array);
}

/** Little-endian fields of ioctl arguments in host memory; the one implementation is lib/kvm/layout.ts's. */
export { viewOf as dv, getU64 as u64, getU32 as u32, putU64 as setU64, putU32 as setU32 } from '../kvm/layout.js';

/** Strip one address bit (TDX shared bit, CCA top IPA bit, SEV C-bit). */
export function stripBit(addr: bigint, bit: number): bigint {
  return addr & ~(1n << BigInt(bit));
}
