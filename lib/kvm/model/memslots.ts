/**
 * The memslots of one VM (virt/kvm/kvm_main.c): per address space, slots by
 * id and a GFN-sorted array for lookups by binary search.
 */

import type { Gmem } from './gmem.js';

export interface Memslot {
  readonly asId: number;
  readonly id: number;
  flags: number;
  baseGfn: number;
  readonly npages: number;
  readonly userspaceAddr: bigint;
  /** The bound guest_memfd; null once its file was released (kvm_gmem_release() clears slot->gmem.file). */
  gmem: Gmem | null;
  /** Whether the slot was created with KVM_MEM_GUEST_MEMFD (stays true after the file is released). */
  readonly hasGmemFlag: boolean;
  readonly gmemPgoff: number;
  /** KVM_MEMSLOT_GMEM_ONLY: bound to an mmap-able gmem (6.18 kvm_gmem_bind()). */
  readonly gmemOnly: boolean;
}

export class Memslots {
  private readonly byKey = new Map<number, Memslot>();
  /** Per address space, sorted by baseGfn. */
  private readonly sorted = new Map<number, Memslot[]>();

  get count(): number {
    return this.byKey.size;
  }

  all(): Memslot[] {
    return [...this.byKey.values()];
  }

  get(asId: number, id: number): Memslot | undefined {
    return this.byKey.get(asId * 0x10000 + id);
  }

  private list(asId: number): Memslot[] {
    let l = this.sorted.get(asId);
    if (!l) {
      l = [];
      this.sorted.set(asId, l);
    }
    return l;
  }

  /** Index of the first slot whose end is past `gfn`. */
  private lowerBound(l: Memslot[], gfn: number): number {
    let lo = 0;
    let hi = l.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = l[mid]!;
      if (s.baseGfn + s.npages <= gfn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** gfn_to_memslot(). */
  find(asId: number, gfn: number): Memslot | undefined {
    const l = this.list(asId);
    const s = l[this.lowerBound(l, gfn)];
    return s && s.baseGfn <= gfn ? s : undefined;
  }

  /** kvm_check_memslot_overlap(): another slot (not `id`) intersecting [start, end). */
  overlaps(asId: number, id: number, start: number, end: number): boolean {
    const l = this.list(asId);
    for (let i = this.lowerBound(l, start); i < l.length; i++) {
      const s = l[i]!;
      if (s.baseGfn >= end) break;
      if (s.id !== id) return true;
    }
    return false;
  }

  insert(s: Memslot): void {
    this.byKey.set(s.asId * 0x10000 + s.id, s);
    const l = this.list(s.asId);
    l.splice(this.lowerBound(l, s.baseGfn), 0, s);
  }

  remove(s: Memslot): void {
    this.byKey.delete(s.asId * 0x10000 + s.id);
    const l = this.list(s.asId);
    const i = l.indexOf(s);
    if (i >= 0) l.splice(i, 1);
  }

  /** KVM_MR_MOVE: a new base GFN. */
  move(s: Memslot, baseGfn: number): void {
    this.remove(s);
    s.baseGfn = baseGfn;
    this.insert(s);
  }

  clear(): void {
    this.byKey.clear();
    this.sorted.clear();
  }
}
