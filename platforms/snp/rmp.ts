/**
 * The Reverse Map Table as the guest and KVM see it (reference/platforms.md
 * §2.4 a, c, f): per 4K page, assigned or not, validated or not, and whether
 * it belongs to a 2M entry. KVM creates a 2M entry only for a large folio
 * whose whole 2M is private (is_large_rmp_possible()); guest_memfd folios
 * are order-0 today, so the `largeFolios` parameter is off by default.
 */
import { PVALIDATE_FAIL_INPUT, PVALIDATE_FAIL_NOUPDATE, PVALIDATE_FAIL_SIZEMISMATCH, PVALIDATE_SUCCESS } from './uapi.js';

export interface RmpEntry {
  assigned: boolean;
  validated: boolean;
  /** Part of a 2M RMP entry. */
  huge: boolean;
}

const PAGES_2M = 512n;

export class Rmp {
  private readonly e = new Map<bigint, RmpEntry>();
  psmashes = 0;

  get(gfn: bigint): RmpEntry | undefined {
    return this.e.get(gfn);
  }

  /** rmp_make_private(): assign, not validated; `huge` for a 2M entry over the aligned 512 pages. */
  makePrivate(gfn: bigint, huge = false): void {
    if (huge) {
      const base = gfn & ~(PAGES_2M - 1n);
      for (let i = 0n; i < PAGES_2M; i++) this.e.set(base + i, { assigned: true, validated: false, huge: true });
      return;
    }
    this.e.set(gfn, { assigned: true, validated: false, huge: false });
  }

  /** rmp_make_shared(): back to the hypervisor. */
  makeShared(gfn: bigint): void {
    this.e.delete(gfn);
  }

  /** rmp_make_shared() over GFNs [first, end): walks whichever is smaller, the range or the table. */
  makeSharedRange(first: bigint, end: bigint): void {
    if (end - first > BigInt(this.e.size)) {
      for (const k of [...this.e.keys()]) if (k >= first && k < end) this.e.delete(k);
    } else {
      for (let g = first; g < end; g++) this.e.delete(g);
    }
  }

  /** PSMASH: split the 2M entry holding `gfn` into 512 4K entries with the same state. */
  psmash(gfn: bigint): void {
    const base = gfn & ~(PAGES_2M - 1n);
    for (let i = 0n; i < PAGES_2M; i++) {
      const x = this.e.get(base + i);
      if (x) x.huge = false;
    }
    this.psmashes++;
  }

  /**
   * PVALIDATE: 4K on a page of a 2M entry (or 2M on 4K entries) is a size
   * mismatch; a page not assigned to the guest is an input failure; no change
   * of state is NOUPDATE (carry flag).
   */
  pvalidate(gfn: bigint, size2M: boolean, validate: boolean): bigint {
    const pages = size2M ? PAGES_2M : 1n;
    const base = size2M ? gfn & ~(PAGES_2M - 1n) : gfn;
    if (size2M && (gfn & (PAGES_2M - 1n)) !== 0n) return PVALIDATE_FAIL_INPUT;
    const first = this.e.get(base);
    if (!first || !first.assigned) return PVALIDATE_FAIL_INPUT;
    if (first.huge !== size2M) return PVALIDATE_FAIL_SIZEMISMATCH;
    if (first.validated === validate) return PVALIDATE_FAIL_NOUPDATE;
    for (let i = 0n; i < pages; i++) {
      const x = this.e.get(base + i);
      if (x) x.validated = validate;
    }
    return PVALIDATE_SUCCESS;
  }
}
