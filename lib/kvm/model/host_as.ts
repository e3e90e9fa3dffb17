/**
 * The simulated process address space: anonymous and file mappings made with
 * mmap(2), page by page. Anonymous memory is sparse (a page exists once
 * written; untouched pages read as zeros), file mappings resolve each page
 * through the file (guest_memfd, memfd, vCPU kvm_run), so a fault there is
 * the file's fault (SIGBUS), and an address outside every mapping is SIGSEGV
 * SEGV_MAPERR, as in a real process.
 */

import { EFAULT, EINVAL, ENODEV, ENOENT, ENOMEM, EPERM } from '../errno.js';
import { mpolEqual, placeNode, type Mempolicy } from './mempolicy.js';
import { MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../uapi.js';
import type { HostFaultSpec } from './platform.js';
import { SparsePages } from './sparse_pages.js';

const PAGE = BigInt(PAGE_SIZE);
export const MAP_FIXED = 0x10;
const MAP_SHARED_VALIDATE = 0x03;
const MAP_GROWSDOWN = 0x0100;
const PROT_EXEC = 0x4;
/** TASK_SIZE_MAX on x86-64 with 4-level paging. */
export const TASK_SIZE = 0x7ffffffff000n;
/** Where mmap() without MAP_FIXED starts placing mappings. */
const MMAP_BASE = 0x7f0000000000n;

/** A mappable file: resolves a page offset to the page that backs it, or the signal a touch raises. */
export interface PageSource {
  resolve(pgoff: number, write: boolean): { store: SparsePages; index: number } | HostFaultSpec;
  /** The file can never be mapped with huge pages (guest_memfd): MADV_COLLAPSE gives EINVAL. */
  readonly noThp?: boolean;
  /**
   * The file lives on a pseudo filesystem (init_pseudo() sets SB_I_NOEXEC):
   * guest_memfd and the anon-inode vCPU file. path_noexec() refuses PROT_EXEC.
   */
  readonly noexec?: boolean;
  /** The file has no mmap method (f_op->mmap is NULL): do_mmap() says ENODEV before the flag checks the method would see. */
  readonly noMmap?: boolean;
  /** The file's inode number, as /proc/self/maps shows it. */
  readonly ino?: bigint;
  /**
   * vm_ops->set_policy / get_policy: the file keeps a shared policy by page
   * offset (shmem; guest_memfd from 6.19). Absent: only the VMA's policy.
   */
  setPolicy?(first: number, end: number, pol: Mempolicy | null): void;
  getPolicy?(pgoff: number): Mempolicy | null;
}

interface Mapping {
  start: bigint;
  npages: number;
  prot: number;
  source: PageSource | null;
  /** File page offset of `start`. */
  pgoff: number;
  /** MAP_PRIVATE of a file: private copies, keyed by absolute page number. */
  cow: SparsePages | null;
  /** vma->vm_policy (mbind()); null is the default policy. */
  policy: Mempolicy | null;
}

/** The result of resolving one host page. */
export type Resolved = { store: SparsePages; index: number } | HostFaultSpec;

export function isFault(r: unknown): r is HostFaultSpec {
  return typeof r === 'object' && r !== null && 'signal' in r;
}

export class HostAddressSpace {
  private maps: Mapping[] = [];
  private anon = this.anonPages(new SparsePages());
  private next = MMAP_BASE;

  /** Anonymous pages go where their VMA's policy says (alloc_anon_folio() → vma_alloc_folio()). */
  private anonPages(p: SparsePages): SparsePages {
    p.placer = (abs) => placeNode(this.find(BigInt(abs) * PAGE)?.policy ?? null);
    return p;
  }

  /** Resident anonymous pages (for benches). */
  get anonResidentPages(): number {
    return this.anon.residentPages;
  }

  private find(hva: bigint): Mapping | undefined {
    let lo = 0;
    let hi = this.maps.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.maps[mid]!;
      if (m.start + BigInt(m.npages) * PAGE <= hva) lo = mid + 1;
      else hi = mid;
    }
    const m = this.maps[lo];
    return m && m.start <= hva ? m : undefined;
  }

  /**
   * mmap(2) argument checks (mm/mmap.c, do_mmap() / ksys_mmap_pgoff()), then
   * placement. `validateFile` runs the file's f_op->mmap checks.
   */
  mmap(addr: bigint, length: bigint, prot: number, flags: number, source: PageSource | null,
    offset: bigint, validateFile?: (shared: boolean) => number): { addr: bigint } | { errno: number } {
    const len = BigInt.asUintN(64, length);
    const off = BigInt.asUintN(64, offset);
    const type = flags & MAP_SHARED_VALIDATE;
    if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) return { errno: EINVAL };
    if (off % PAGE !== 0n) return { errno: EINVAL };
    if (len === 0n) return { errno: EINVAL };
    const rounded = (len + PAGE - 1n) / PAGE * PAGE;
    if (rounded === 0n || rounded > TASK_SIZE) return { errno: ENOMEM };
    const npages = Number(rounded / PAGE);
    const fixed = (flags & MAP_FIXED) !== 0;
    const a = BigInt.asUintN(64, addr);
    if (fixed && (a % PAGE !== 0n || a + rounded > TASK_SIZE)) return { errno: EINVAL };
    if (source) {
      // do_mmap() on a file: a noexec mount refuses VM_EXEC (EPERM), a file
      // mapping cannot grow down (EINVAL), then f_op->mmap() has its say.
      if (source.noexec && (prot & PROT_EXEC)) return { errno: EPERM };
      if (source.noMmap) return { errno: ENODEV };
      if (flags & MAP_GROWSDOWN) return { errno: EINVAL };
      const e = validateFile?.(type !== MAP_PRIVATE);
      if (e) return { errno: e };
    }
    let start: bigint;
    if (fixed) {
      this.unmapRange(a, rounded);
      start = a;
    } else {
      // Top-down placement with a guard page between mappings.
      if (this.next - rounded - PAGE < 0x10000n) return { errno: ENOMEM };
      start = this.next - rounded;
      this.next = start - PAGE;
    }
    const m: Mapping = {
      start, npages, prot, source, pgoff: Number(off / PAGE),
      cow: source && type === MAP_PRIVATE ? new SparsePages() : null, policy: null,
    };
    const i = this.maps.findIndex((x) => x.start > start);
    this.maps.splice(i < 0 ? this.maps.length : i, 0, m);
    return { addr: start };
  }

  /** munmap(2): EINVAL for an unaligned address or a zero length; unmapped holes are fine. */
  munmap(addr: bigint, length: bigint): number {
    const a = BigInt.asUintN(64, addr);
    const len = BigInt.asUintN(64, length);
    if (a % PAGE !== 0n || len === 0n) return EINVAL;
    const rounded = (len + PAGE - 1n) / PAGE * PAGE;
    if (a + rounded > TASK_SIZE) return EINVAL;
    this.unmapRange(a, rounded);
    return 0;
  }

  private unmapRange(a: bigint, len: bigint): void {
    const end = a + len;
    const out: Mapping[] = [];
    for (const m of this.maps) {
      const mEnd = m.start + BigInt(m.npages) * PAGE;
      if (mEnd <= a || m.start >= end) {
        out.push(m);
        continue;
      }
      if (m.start < a) out.push({ ...m, npages: Number((a - m.start) / PAGE) });
      if (mEnd > end) {
        const skip = Number((end - m.start) / PAGE);
        out.push({ ...m, start: end, npages: m.npages - skip, pgoff: m.pgoff + skip });
      }
    }
    const first = Number(a / PAGE);
    const last = Number(end / PAGE);
    // Anonymous memory does not outlive its mapping: a later mmap there sees zeros.
    if (this.maps.some((m) => m.source === null && m.start < end && m.start + BigInt(m.npages) * PAGE > a)) {
      this.anon.drop(first, last);
    }
    this.maps = out;
  }

  /**
   * madvise(2) for the advice the selftests use (mm/madvise.c): an unaligned
   * start is EINVAL, an unmapped page in the range ENOMEM. MADV_HUGEPAGE is a
   * hint. MADV_DONTNEED zaps the range: anonymous and private-copy pages read
   * zero again, shared file pages are faulted back from the file.
   * MADV_COLLAPSE (mm/khugepaged.c, madvise_collapse()) fails with EINVAL on a
   * mapping that may not use huge pages, which guest_memfd never may.
   */
  madvise(addr: bigint, length: bigint, advice: number): number {
    const MADV_DONTNEED = 4;
    const MADV_HUGEPAGE = 14;
    const MADV_NOHUGEPAGE = 15;
    const MADV_COLLAPSE = 25;
    const a = BigInt.asUintN(64, addr);
    if (a % PAGE !== 0n) return EINVAL;
    const end = a + (BigInt.asUintN(64, length) + PAGE - 1n) / PAGE * PAGE;
    if (advice !== MADV_DONTNEED && advice !== MADV_HUGEPAGE && advice !== MADV_NOHUGEPAGE && advice !== MADV_COLLAPSE) return EINVAL;
    const hit: Mapping[] = [];
    for (let p = a; p < end;) {
      const m = this.find(p);
      if (!m) return ENOMEM;
      hit.push(m);
      p = m.start + BigInt(m.npages) * PAGE;
    }
    if (advice === MADV_COLLAPSE && hit.some((m) => m.source?.noThp)) return EINVAL;
    if (advice === MADV_DONTNEED) {
      for (const m of hit) {
        const from = Number((a > m.start ? a : m.start) / PAGE);
        const mEnd = m.start + BigInt(m.npages) * PAGE;
        const to = Number((end < mEnd ? end : mEnd) / PAGE);
        if (!m.source) this.anon.drop(from, to);
        else m.cow?.drop(from, to);
      }
    }
    return 0;
  }

  /**
   * fork(2)'s copy of this address space (kernel/fork.c, dup_mmap()): the
   * same mappings at the same addresses; MAP_SHARED file pages stay the
   * file's, so both processes resolve them through the file (a guest_memfd
   * page turned private is SIGBUS in either); anonymous memory and private
   * file copies are the child's own from here on. (MAP_SHARED anonymous
   * memory, which the model keeps with private anonymous memory, is copied
   * too: nothing here shares it across a fork.)
   */
  fork(): HostAddressSpace {
    const c = new HostAddressSpace();
    c.maps = this.maps.map((m) => ({ ...m, cow: m.cow ? m.cow.copy() : null }));
    c.anon = c.anonPages(this.anon.copy());
    c.next = this.next;
    return c;
  }

  /**
   * mbind()'s walk over [a, a+len) (do_mbind() after the argument checks):
   * every page must be mapped unless the policy is the default
   * (MPOL_MF_DISCONTIG_OK; a range with no mapping at all is EFAULT either
   * way, queue_pages_range()); then each VMA is split at the range's ends and
   * takes the policy, and a file with a shared policy records it for the
   * VMA's pages (vma_replace_policy()). A VMA whose policy already equals the
   * new one is left alone, shared policy included (mbind_range()).
   */
  mbind(a: bigint, len: bigint, pol: Mempolicy | null): number {
    const end = a + len;
    let covered = 0n;
    let any = false;
    for (const m of this.maps) {
      const mEnd = m.start + BigInt(m.npages) * PAGE;
      if (mEnd <= a || m.start >= end) continue;
      any = true;
      covered += (mEnd < end ? mEnd : end) - (m.start > a ? m.start : a);
    }
    if (!any || (pol && covered !== len)) return EFAULT;
    this.splitAt(a);
    this.splitAt(end);
    for (const m of this.maps) {
      if (m.start < a || m.start >= end) continue;
      if (mpolEqual(m.policy, pol)) continue;
      m.source?.setPolicy?.(m.pgoff, m.pgoff + m.npages, pol);
      m.policy = pol;
    }
    return 0;
  }

  private splitAt(at: bigint): void {
    const m = this.find(at);
    if (!m || m.start === at) return;
    const skip = Number((at - m.start) / PAGE);
    const tail: Mapping = { ...m, start: at, npages: m.npages - skip, pgoff: m.pgoff + skip };
    m.npages = skip;
    this.maps.splice(this.maps.indexOf(m) + 1, 0, tail);
  }

  /**
   * get_mempolicy(MPOL_F_ADDR)'s policy at `hva` (__get_vma_policy()): the
   * file's shared policy where it has one, else the VMA's; EFAULT where
   * nothing is mapped.
   */
  policyAt(hva: bigint): { pol: Mempolicy | null } | { errno: number } {
    const m = this.find(hva);
    if (!m) return { errno: EFAULT };
    if (m.source?.getPolicy) return { pol: m.source.getPolicy(m.pgoff + Number((hva - m.start) / PAGE)) };
    return { pol: m.policy };
  }

  /**
   * move_pages()'s status for `hva` without moving (do_pages_stat_array()):
   * the node of the page mapped there, -EFAULT where nothing is mapped,
   * -ENOENT where no page is (never faulted in, or one the host may not map,
   * like a private guest_memfd page).
   */
  pageNodeAt(hva: bigint): number {
    const m = this.find(hva);
    if (!m) return -EFAULT;
    const abs = Number(hva / PAGE);
    if (!m.source) return this.anon.nodeOf(abs) ?? -ENOENT;
    if (m.cow?.has(abs)) return m.cow.nodeOf(abs)!;
    const r = m.source.resolve(m.pgoff + Number((hva - m.start) / PAGE), false);
    if (isFault(r)) return -ENOENT;
    return r.store.nodeOf(r.index) ?? -ENOENT;
  }

  /** The /proc/self/maps view of `hva`: the file's inode and page offset, or ino 0 for anonymous memory. */
  mappingAt(hva: bigint): { ino: bigint; offset: bigint; shared: boolean } | undefined {
    const m = this.find(hva);
    if (!m) return undefined;
    const pg = m.pgoff + Number((hva - m.start) / PAGE);
    if (!m.source) return { ino: 0n, offset: 0n, shared: false };
    return { ino: m.source.ino ?? 0n, offset: BigInt(pg) * PAGE, shared: m.cow === null };
  }

  /** The page backing `hva` for an access, or the signal it raises. */
  resolve(hva: bigint, write: boolean): Resolved {
    const m = this.find(hva);
    if (!m) return { signal: 'SIGSEGV', code: 'SEGV_MAPERR', detail: 'no mapping' };
    if (!(m.prot & (write ? PROT_WRITE : PROT_READ))) return { signal: 'SIGSEGV', code: 'SEGV_ACCERR', detail: write ? 'mapping not writable' : 'mapping not readable' };
    const abs = Number(hva / PAGE);
    if (!m.source) return { store: this.anon, index: abs };
    if (m.cow && m.cow.has(abs)) return { store: m.cow, index: abs };
    const r = m.source.resolve(m.pgoff + Number((hva - m.start) / PAGE), write);
    if (isFault(r) || !m.cow || !write) return r;
    // First write to a MAP_PRIVATE file page: copy it.
    m.cow.touch(abs).set(r.store.peek(r.index));
    return { store: m.cow, index: abs };
  }

  /**
   * Visit [hva, hva+len) page by page. `fn` gets the page store, the page
   * index, the offset inside the page, the chunk length and the offset in
   * the caller's buffer. Stops at the first fault and returns it, or
   * quietly once `stop()` says so (a compare that found its mismatch).
   */
  forEach(hva: bigint, len: number, write: boolean,
    fn: (store: SparsePages, index: number, inPage: number, chunk: number, done: number) => void,
    stop?: () => boolean): HostFaultSpec & { addr: bigint } | undefined {
    let done = 0;
    while (done < len && !stop?.()) {
      const at = BigInt.asUintN(64, hva + BigInt(done));
      const inPage = Number(at % PAGE);
      const chunk = Math.min(len - done, PAGE_SIZE - inPage);
      const r = this.resolve(at, write);
      if (isFault(r)) return { ...r, addr: at };
      fn(r.store, r.index, inPage, chunk, done);
      done += chunk;
    }
    return undefined;
  }
}
