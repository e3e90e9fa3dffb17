/**
 * Sparse page storage: 4 KiB pages in a Map keyed by page index, created on
 * first write. A page never written reads as zeros, so a 1 TiB guest_memfd or
 * anonymous mapping costs only the pages actually touched.
 */

import { PAGE_SIZE } from '../uapi.js';

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

export class SparsePages {
  private readonly pages = new Map<number, Uint8Array>();
  /**
   * Long-term GUP pins by page index (pin_user_pages(FOLL_LONGTERM)): an
   * elevated folio refcount that guest_memfd's conversion check sees
   * (kvm_gmem_is_safe_for_conversion()). A pinned page is materialised.
   */
  private readonly pins = new Map<number, number>();
  /** The NUMA node of each materialised page not on node 0 (folio_nid()). */
  private readonly nodes = new Map<number, number>();
  /**
   * Where a page goes when it is first materialised (the allocation's
   * mempolicy: the file's shared policy, the VMA's); node 0 without one.
   */
  placer: ((index: number) => number) | undefined;

  /** Number of materialised pages (for memory accounting and benches). */
  get residentPages(): number {
    return this.pages.size;
  }

  has(index: number): boolean {
    return this.pages.has(index);
  }

  /** The lowest materialised page index >= `index`, if any. */
  firstAtOrAfter(index: number): number | undefined {
    if (this.pages.has(index)) return index;
    let best: number | undefined;
    for (const k of this.pages.keys()) if (k >= index && (best === undefined || k < best)) best = k;
    return best;
  }

  /** Indexes of the materialised pages in [first, end), ascending. */
  indexesIn(first: number, end: number): number[] {
    const out: number[] = [];
    if (end - first <= this.pages.size) {
      for (let i = first; i < end; i++) if (this.pages.has(i)) out.push(i);
    } else {
      for (const k of this.pages.keys()) if (k >= first && k < end) out.push(k);
      out.sort((x, y) => x - y);
    }
    return out;
  }

  /** The page's bytes for reading; a shared zero page when never written (do not modify). */
  peek(index: number): Uint8Array {
    return this.pages.get(index) ?? ZERO_PAGE;
  }

  /** The page's bytes for writing, materialised (zero-filled) on first use. */
  touch(index: number): Uint8Array {
    let p = this.pages.get(index);
    if (!p) {
      p = new Uint8Array(PAGE_SIZE);
      this.pages.set(index, p);
      const node = this.placer?.(index) ?? 0;
      if (node) this.nodes.set(index, node);
    }
    return p;
  }

  /** The node of page `index`, or undefined if it is not materialised. */
  nodeOf(index: number): number | undefined {
    return this.pages.has(index) ? (this.nodes.get(index) ?? 0) : undefined;
  }

  /** Take a long-term pin on page `index` (faulting it in, as GUP does). */
  pin(index: number): void {
    this.touch(index);
    this.pins.set(index, (this.pins.get(index) ?? 0) + 1);
  }

  /** Drop one pin on page `index`. */
  unpin(index: number): void {
    const n = (this.pins.get(index) ?? 0) - 1;
    if (n > 0) this.pins.set(index, n);
    else this.pins.delete(index);
  }

  /** The lowest pinned page index in [first, end), if any. */
  firstPinned(first: number, end: number): number | undefined {
    let best: number | undefined;
    for (const k of this.pins.keys()) if (k >= first && k < end && (best === undefined || k < best)) best = k;
    return best;
  }

  /**
   * Drop the pages with index in [first, end): they read as zeros afterwards.
   * A pinned page leaves the file too (truncate_inode_pages_range() does not
   * wait for pins); its pin stays with the detached folio, not the index.
   */
  drop(first: number, end: number): void {
    if (this.pins.size) for (const k of [...this.pins.keys()]) if (k >= first && k < end) this.pins.delete(k);
    if (end - first > this.pages.size) {
      for (const k of [...this.pages.keys()]) if (k >= first && k < end) this.pages.delete(k);
    } else {
      for (let i = first; i < end; i++) this.pages.delete(i);
    }
    if (this.nodes.size) for (const k of [...this.nodes.keys()]) if (k >= first && k < end) this.nodes.delete(k);
  }

  clear(): void {
    this.pages.clear();
    this.nodes.clear();
  }

  /**
   * A copy of the bytes (fork's copy of private memory: copy_page_range()
   * shares the pages copy-on-write, which reads the same as a copy). Pins
   * stay with the original: a forked child holds no GUP pins.
   */
  copy(): SparsePages {
    const c = new SparsePages();
    for (const [k, v] of this.pages) c.pages.set(k, v.slice());
    for (const [k, v] of this.nodes) c.nodes.set(k, v);
    return c;
  }

  /** Copy `len` bytes at byte `offset` (within one page) into a new array. */
  read(offset: number, len: number): Uint8Array {
    const idx = Math.floor(offset / PAGE_SIZE);
    const inPage = offset - idx * PAGE_SIZE;
    return this.peek(idx).slice(inPage, inPage + len);
  }

  /** Write bytes at byte `offset` (within one page). */
  write(offset: number, data: Uint8Array): void {
    const idx = Math.floor(offset / PAGE_SIZE);
    this.touch(idx).set(data, offset - idx * PAGE_SIZE);
  }
}
