/**
 * guest_memfd (virt/kvm/guest_memfd.c): one object stands for the file and
 * its inode, since KVM_CREATE_GUEST_MEMFD makes one of each and dup() shares
 * the file. Pages live in a SparsePages store; a page never touched reads as
 * zeros (kvm_gmem_get_folio() + clear_highpage() on first use).
 */

import { SharedPolicy, placeNode } from './mempolicy.js';
import { EINVAL, EOPNOTSUPP, EFBIG, ENODEV } from '../errno.js';
import {
  FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, PAGE_SIZE,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
} from '../uapi.js';
import { gmemFopsFor } from './gmem_fops.js';
import type { KernelProfile } from './profiles.js';
import { S_IFREG, type FileOperations, type Kstat, type OpenFile } from './vfs/file.js';
import { RangeMap } from './range_map.js';
import { SparsePages } from './sparse_pages.js';
import type { HostFaultSpec } from './platform.js';

const PAGE = BigInt(PAGE_SIZE);

/** Modes the VFS knows (include/linux/falloc.h, FALLOC_FL_SUPPORTED_MASK). */
const FALLOC_FL_SUPPORTED_MASK = 0x01 | 0x02 | 0x04 | 0x08 | 0x10 | 0x20 | 0x40 | 0x80;
/** MAX_LFS_FILESIZE on 64-bit: s_maxbytes of the gmem pseudo filesystem. */
const MAX_LFS_FILESIZE = (1n << 63n) - 1n;

/** What a gmem binding points at: the memslot's identity, for the "bound twice" check. */
export interface GmemBinding {
  readonly start: number;
  readonly end: number;
  readonly owner: object;
}

/** The owning VM, as guest_memfd sees it: a reference count (kvm_get_kvm/kvm_put_kvm). */
export interface GmemVmRef {
  get(): void;
  put(): void;
  /** Called when the file is released: every slot bound to it loses its file (kvm_gmem_release()). */
  gmemReleased(gmem: Gmem): void;
  /** Called after a punch of pages [first, end): bound slots' guest mappings are zapped. */
  gmemPunched(gmem: Gmem, first: number, end: number): void;
  /**
   * Called when KVM_SET_MEMORY_ATTRIBUTES2 changes pages [first, end)
   * (kvm_gmem_invalidate_start() around the store): bound slots' guest
   * mappings are zapped and, towards shared, the platform's
   * kvm_arch_gmem_invalidate() runs on the pages that exist.
   */
  gmemConverted(gmem: Gmem, first: number, end: number, toPrivate: boolean): void;
}

let nextIno = 0x1000n;

export class Gmem implements OpenFile {
  readonly kind = 'gmem' as const;
  readonly fops: FileOperations<Gmem>;
  /** alloc_file_pseudo(): no FMODE_PREAD/PWRITE. */
  readonly fmode = 0;
  /** The guest_memfd pseudo filesystem is SB_I_NOEXEC where the release says so. */
  readonly noexec: boolean;
  readonly ino = nextIno++;
  readonly pages = new SparsePages();
  bindings: GmemBinding[] = [];
  released = false;
  /**
   * Per-inode attributes by page index, the in-place series' maple tree
   * (struct gmem_inode.attributes): every index starts PRIVATE unless
   * GUEST_MEMFD_FLAG_INIT_SHARED (kvm_gmem_init_inode()). Before 7.4 nothing
   * changes it after creation, so it states 6.18's rule too: a page faults
   * into userspace only if it is shared (kvm_gmem_fault_user_mapping()).
   */
  readonly attrs = new RangeMap();
  /**
   * The inode's shared NUMA policy (6.19, "KVM: guest_memfd: Enforce NUMA
   * mempolicy using shared policy": kvm_gmem_set_policy() through a
   * mapping's mbind(), and every folio allocated at an index follows the
   * policy there, whoever faults it: host, guest or fallocate()). Undefined
   * before 6.19: guest_memfd's vm_ops have no set_policy, so mbind() sets only
   * the VMA's policy and folios come from the local node.
   */
  readonly policy: SharedPolicy | undefined;

  constructor(
    readonly vm: GmemVmRef,
    readonly size: bigint,
    readonly flags: bigint,
    /** Pages start private unless GUEST_MEMFD_FLAG_INIT_SHARED was given (kvm_gmem_init_inode()). */
    privateByDefault: boolean,
    profile: KernelProfile,
  ) {
    vm.get();
    this.fops = gmemFopsFor(profile);
    this.noexec = profile.pseudoFsNoexec;
    if (privateByDefault) this.attrs.set(0, Number(size / PAGE), KVM_MEMORY_ATTRIBUTE_PRIVATE);
    const policy = profile.gmemMempolicy ? new SharedPolicy() : undefined;
    this.policy = policy;
    if (policy) this.pages.placer = (index) => placeNode(policy.lookup(index));
  }

  get npages(): number {
    return Number(this.size / PAGE);
  }

  get mmapable(): boolean {
    return (this.flags & GUEST_MEMFD_FLAG_MMAP) !== 0n;
  }

  getattr(): Kstat {
    return { size: this.size, ino: this.ino, mode: S_IFREG | 0o600 };
  }

  /** kvm_gmem_setattr(): the size of a guest_memfd never changes. */
  setattrSize(): number {
    return EINVAL;
  }

  /** kvm_gmem_release(). */
  release(): void {
    this.released = true;
    this.vm.gmemReleased(this);
    this.bindings = [];
    this.vm.put();
  }

  /** kvm_gmem_bind(): the page range must not be bound already (xa_find on f->bindings). */
  rangeBound(start: number, end: number): boolean {
    return this.bindings.some((b) => b.start < end && start < b.end);
  }

  bind(b: GmemBinding): void {
    this.bindings.push(b);
  }

  unbind(owner: object): void {
    this.bindings = this.bindings.filter((b) => b.owner !== owner);
  }

  /**
   * fallocate(2) on the gmem: the VFS checks of vfs_fallocate() (fs/open.c)
   * then kvm_gmem_fallocate(). Offsets are loff_t (signed 64-bit).
   */
  fallocate(mode: number, offset: bigint, len: bigint): number {
    const off = BigInt.asIntN(64, offset);
    const ln = BigInt.asIntN(64, len);
    const m = mode >>> 0;
    // vfs_fallocate(): negative offset or non-positive length.
    if (off < 0n || ln <= 0n) return EINVAL;
    if (m & ~FALLOC_FL_SUPPORTED_MASK) return EOPNOTSUPP;
    // vfs_fallocate(): PUNCH_HOLE requires KEEP_SIZE.
    if ((m & FALLOC_FL_PUNCH_HOLE) && !(m & FALLOC_FL_KEEP_SIZE)) return EOPNOTSUPP;
    // vfs_fallocate(): wraparound past s_maxbytes.
    if (off + ln > MAX_LFS_FILESIZE) return EFBIG;
    // kvm_gmem_fallocate(): KEEP_SIZE is mandatory, nothing but KEEP_SIZE|PUNCH_HOLE.
    if (!(m & FALLOC_FL_KEEP_SIZE)) return EOPNOTSUPP;
    if (m & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return EOPNOTSUPP;
    if (off % PAGE !== 0n || ln % PAGE !== 0n) return EINVAL;
    if (m & FALLOC_FL_PUNCH_HOLE) {
      // kvm_gmem_punch_hole(): truncate_inode_pages_range() over what exists; past i_size is a no-op.
      const first = off / PAGE;
      const end = (off + ln) / PAGE;
      const last = end < this.size / PAGE ? end : this.size / PAGE;
      if (first < last) {
        this.pages.drop(Number(first), Number(last));
        this.vm.gmemPunched(this, Number(first), Number(last));
      }
      return 0;
    }
    // kvm_gmem_allocate(): the range must lie inside i_size.
    if (off + ln > this.size) return EINVAL;
    // Allocation does not change content (new folios are zeroed on first use), so
    // the model materialises nothing: a page exists once it holds data.
    return 0;
  }

  /** kvm_gmem_mmap(): ENODEV without GUEST_MEMFD_FLAG_MMAP, EINVAL unless MAP_SHARED. */
  mmapCheck(shared: boolean): number {
    if (!this.mmapable) return ENODEV;
    if (!shared) return EINVAL;
    return 0;
  }

  /** Whether page `index` is private in the per-inode attribute tree. */
  pagePrivate(index: number): boolean {
    return (this.attrs.get(index) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0n;
  }

  /**
   * kvm_gmem_fault_user_mapping(): SIGBUS at or past i_size, and on a page
   * the attribute tree says is private (6.18: every page of a gmem created
   * without INIT_SHARED; 7.4: whatever KVM_SET_MEMORY_ATTRIBUTES2 left).
   * The check runs at every host access, so a page converted to private is
   * unmapped from every process that had it (unmap_mapping_pages() on
   * conversion). Returns the page's store index or the fault.
   */
  userFault(pgoff: number): number | HostFaultSpec {
    if (BigInt(pgoff) * PAGE >= this.size) return { signal: 'SIGBUS', code: 'BUS_ADRERR', detail: 'guest_memfd: offset at or past i_size' };
    if (this.pagePrivate(pgoff)) {
      const why = this.flags & GUEST_MEMFD_FLAG_INIT_SHARED ? 'private page' : 'private page (no INIT_SHARED, pages start private)';
      return { signal: 'SIGBUS', code: 'BUS_ADRERR', detail: `guest_memfd: ${why}` };
    }
    return pgoff;
  }
}

