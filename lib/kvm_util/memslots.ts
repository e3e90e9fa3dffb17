/**
 * Memslots: KVM_SET_USER_MEMORY_REGION(2) raw and asserted, and vm_mem_add()
 * with the checks kvm_util.c makes before it asks KVM (alignment, max_gfn,
 * GPA overlap with a tracked region, duplicate slot), which are test bugs
 * and therefore TEST_FAILs, not errno results.
 */
import type { SysResult } from '../kvm/backend.js';
import { strerror } from '../kvm/errno.js';
import { encodeUserspaceMemoryRegion, encodeUserspaceMemoryRegion2 } from '../kvm/structs.js';
import {
  GUEST_MEMFD_FLAG_MMAP, KVM_CAP_USER_MEMORY2, KVM_MEM_GUEST_MEMFD, KVM_SET_USER_MEMORY_REGION, KVM_SET_USER_MEMORY_REGION2,
  MAP_SHARED, PROT_READ, PROT_WRITE,
} from '../kvm/uapi.js';
import { getErrno } from './errno_state.js';
import { TEST_ASSERT, TEST_FAIL, __TEST_REQUIRE, testAssertAt } from './assert.js';
import { __vmIoctl, vmIoctl } from './ioctl.js';
import { kvmHasCap } from './kvm_dev.js';
import { vmCreateGuestMemfd } from './gmem.js';
import { dup, kvmClose, kvmDup, kvmMemfdAlloc, kvmMmapAnonymous, kvmMmapAt, kvmMunmap } from './syscalls.js';
import { type Gpa, type GpaArg, type GmemOffsetArg, type GvaArg, type Hva, type HvaArg, gmemOffset, gpa as asGpa, hva as asHva, hex } from './types.js';
import type { KvmVm, MemRegion } from './vm.js';
import type { Num } from '../libc/int.js';

/**
 * enum vm_mem_backing_src_type: anonymous memory (MAP_PRIVATE) and shmem
 * (a memfd mapped MAP_SHARED); a guest_memfd that can be mapped backs a shmem
 * region itself, as 7.4's vm_mem_add() does.
 */
export type BackingSrc = 'anonymous' | 'shmem';
/** VM_MEM_SRC_ANONYMOUS: private anonymous memory as a slot's shared backing. */
export const VM_MEM_SRC_ANONYMOUS: BackingSrc = 'anonymous';
/** VM_MEM_SRC_SHMEM: a memfd mapped MAP_SHARED (or the region's own mmap-able guest_memfd) as the shared backing. */
export const VM_MEM_SRC_SHMEM: BackingSrc = 'shmem';
/** backing_src_is_shared(): the source is mapped MAP_SHARED. */
export const backingSrcIsShared = (src: BackingSrc): boolean => src === 'shmem';
/** Every name kvm_util's -s option knows (tools/testing/selftests/kvm/lib/test_util.c). */
export const BACKING_SRC_NAMES = [
  'anonymous', 'anonymous_thp', 'anonymous_hugetlb', 'anonymous_hugetlb_16kb', 'anonymous_hugetlb_64kb',
  'anonymous_hugetlb_512kb', 'anonymous_hugetlb_1mb', 'anonymous_hugetlb_2mb', 'anonymous_hugetlb_8mb',
  'anonymous_hugetlb_16mb', 'anonymous_hugetlb_32mb', 'anonymous_hugetlb_256mb', 'anonymous_hugetlb_512mb',
  'anonymous_hugetlb_1gb', 'anonymous_hugetlb_2gb', 'anonymous_hugetlb_16gb', 'shmem', 'shared_hugetlb',
] as const;

/** The backing sources this build can create; the other names of BACKING_SRC_NAMES are hugetlb kinds. */
export const SUPPORTED_BACKING_SRCS: readonly BackingSrc[] = [VM_MEM_SRC_ANONYMOUS, VM_MEM_SRC_SHMEM];

let hasMem2: boolean | undefined;

/** TEST_REQUIRE_SET_USER_MEMORY_REGION2(). */
function requireMem2(): void {
  hasMem2 ??= kvmHasCap(KVM_CAP_USER_MEMORY2);
  __TEST_REQUIRE(hasMem2, 'KVM selftests now require KVM_SET_USER_MEMORY_REGION2 (introduced in v6.8)');
}

/** __vm_set_user_memory_region(): the v1 ioctl, raw. */
export function __vmSetUserMemoryRegion(vm: KvmVm, slot: number, flags: number, gpa: GpaArg, size: Num, hva: HvaArg): SysResult {
  return __vmIoctl(vm, KVM_SET_USER_MEMORY_REGION, encodeUserspaceMemoryRegion({ slot, flags, guestPhysAddr: gpa, memorySize: size, userspaceAddr: hva }));
}

/** vm_set_user_memory_region(): the v1 ioctl, asserted. */
export function vmSetUserMemoryRegion(vm: KvmVm, slot: number, flags: number, gpa: GpaArg, size: Num, hva: HvaArg): void {
  const r = __vmSetUserMemoryRegion(vm, slot, flags, gpa, size, hva);
  TEST_ASSERT(!r.ret, `KVM_SET_USER_MEMORY_REGION failed, errno = ${getErrno()} (${strerror(getErrno())})`);
}

/** __vm_set_user_memory_region2(): the v2 ioctl, raw; `guestMemfd` is a u32 field (-1 → 0xffffffff). */
export function __vmSetUserMemoryRegion2(
  vm: KvmVm, slot: number, flags: number, gpa: GpaArg, size: Num, hva: HvaArg, guestMemfd: number, guestMemfdOffset: GmemOffsetArg,
): SysResult {
  requireMem2();
  return __vmIoctl(vm, KVM_SET_USER_MEMORY_REGION2, encodeUserspaceMemoryRegion2({
    slot, flags, guestPhysAddr: gpa, memorySize: size, userspaceAddr: hva, guestMemfd, guestMemfdOffset,
  }));
}

/** vm_set_user_memory_region2(): the v2 ioctl, asserted. */
export function vmSetUserMemoryRegion2(
  vm: KvmVm, slot: number, flags: number, gpa: GpaArg, size: Num, hva: HvaArg, guestMemfd: number, guestMemfdOffset: GmemOffsetArg,
): void {
  const r = __vmSetUserMemoryRegion2(vm, slot, flags, gpa, size, hva, guestMemfd, guestMemfdOffset);
  TEST_ASSERT(!r.ret, `KVM_SET_USER_MEMORY_REGION2 failed, errno = ${getErrno()} (${strerror(getErrno())})`);
}

/** userspace_mem_region_find(): the tracked region overlapping [start, end] (inclusive), or undefined. */
export function memRegionFind(vm: KvmVm, start: GpaArg, end: GpaArg): MemRegion | undefined {
  const s = BigInt(start);
  const e = BigInt(end);
  for (const r of vm.regions.values()) {
    const last = r.gpa + r.size - 1n;
    if (s <= last && e >= r.gpa) return r;
  }
  return undefined;
}

/**
 * vm_mem_add() as 7.4 has it: for a KVM_MEM_GUEST_MEMFD slot create (with
 * `gmemFlags`, offset 0) or dup the guest_memfd first; when the guest_memfd
 * can be mapped (GUEST_MEMFD_FLAG_MMAP) it is also the region's fd, mapped
 * MAP_SHARED at `gmemOffset`, so the HVA the host uses *is* the guest's
 * memory (kvm_slot_to_fd()); otherwise map the backing source. Then
 * KVM_SET_USER_MEMORY_REGION2.
 */
export function vmMemAdd(
  vm: KvmVm, src: BackingSrc, gpa: GpaArg, slot: number, npages: Num, flags: number, guestMemfd = -1, guestMemfdOffset: GmemOffsetArg = 0n,
  gmemFlags: Num = 0n,
): MemRegion {
  const base = BigInt(gpa);
  const pages = BigInt(npages);
  const size = pages * BigInt(vm.pageSize);
  const ps = vm.pageSize;
  TEST_ASSERT(base % BigInt(ps) === 0n,
    `Guest physical address not on a page boundary.\n  guest_paddr: ${hex(base)} vm->page_size: ${hex(ps)}`);
  TEST_ASSERT((base >> BigInt(vm.pageShift)) + pages - 1n <= vm.maxGfn,
    `Physical range beyond maximum supported physical address,\n  guest_paddr: ${hex(base)} npages: ${hex(pages)}\n  vm->max_gfn: ${hex(vm.maxGfn)} vm->page_size: ${hex(ps)}`);
  const overlap = memRegionFind(vm, base, base + size - 1n);
  if (overlap) {
    TEST_FAIL(`overlapping userspace_mem_region already exists\n  requested guest_paddr: ${hex(base)} npages: ${hex(pages)} page_size: ${hex(ps)}\n  existing guest_paddr: ${hex(overlap.gpa)} size: ${hex(overlap.size)}`);
  }
  const dupSlot = vm.regions.get(slot);
  if (dupSlot) {
    TEST_FAIL(`A mem region with the requested slot already exists.\n  requested slot: ${slot} paddr: ${hex(base)} npages: ${hex(pages)}\n  existing slot: ${dupSlot.slot} paddr: ${hex(dupSlot.gpa)} size: ${hex(dupSlot.size)}`);
  }
  if (!SUPPORTED_BACKING_SRCS.includes(src)) TEST_FAIL(`Unknown backing src type: ${String(src)}`);

  // The guest_memfd first, so that it can be the region's own fd.
  let gmemFd = -1;
  if (flags & KVM_MEM_GUEST_MEMFD) {
    if (guestMemfd < 0) {
      TEST_ASSERT(BigInt(guestMemfdOffset) === 0n, 'Offset must be zero when creating new guest_memfd');
      gmemFd = vmCreateGuestMemfd(vm, size, gmemFlags);
    } else {
      // A unique fd per memslot, closed with the region whoever owns the original.
      const d = dup(guestMemfd);
      testAssertAt(d.ret >= 0, 'guest_memfd >= 0', `dup() failed, errno = ${d.errno} (${strerror(d.errno)})`, ['lib/kvm_util/memslots.ts']);
      gmemFd = d.ret;
    }
  }

  let fd = -1;
  let mmapOffset = 0n;
  if (flags & KVM_MEM_GUEST_MEMFD && BigInt(gmemFlags) & GUEST_MEMFD_FLAG_MMAP) {
    fd = kvmDup(gmemFd);
    mmapOffset = BigInt(guestMemfdOffset);
  } else if (backingSrcIsShared(src)) {
    fd = kvmMemfdAlloc(size);
  }
  TEST_ASSERT(fd === -1 || backingSrcIsShared(src), 'A valid fd provided to mmap() must be accompanied by MAP_SHARED.');
  const hva = fd < 0 ? kvmMmapAnonymous(size) : asHva(kvmMmapAt(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, mmapOffset));
  const r = __vmSetUserMemoryRegion2(vm, slot, flags, base, size, hva, gmemFd, guestMemfdOffset);
  TEST_ASSERT(r.ret === 0, `KVM_SET_USER_MEMORY_REGION2 IOCTL failed,\n  rc: ${r.ret} errno: ${r.errno}\n  slot: ${slot} flags: ${hex(flags)}\n  guest_phys_addr: ${hex(base)} size: ${hex(size)} guest_memfd: ${gmemFd}`);
  const region: MemRegion = {
    slot, flags, gpa: asGpa(base), size, hva, mmapSize: size, fd, guestMemfd: gmemFd, guestMemfdOffset: gmemOffset(BigInt(guestMemfdOffset)),
  };
  vm.regions.set(slot, region);
  return region;
}

/**
 * vm_userspace_mem_region_add(): vm_mem_add() with a new guest_memfd when
 * flags ask for one.
 *
 * @example
 * ```ts
 * const vm = vmCreate(VM_SHAPE_DEFAULT, 1);
 * const region = vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, gpa(1n << 32n), 10, 16, 0);
 * TEST_ASSERT_EQ(addrGpa2Hva(vm, region.gpa), region.hva);
 * kvmVmFree(vm);
 * ```
 */
export function vmUserspaceMemRegionAdd(vm: KvmVm, src: BackingSrc, gpa: GpaArg, slot: number, npages: Num, flags: number): MemRegion {
  return vmMemAdd(vm, src, gpa, slot, npages, flags, -1, 0n);
}

/** __vm_mem_region_delete(): size 0 through the v2 ioctl, then drop the HVA and the gmem dup. */
export function __vmMemRegionDelete(vm: KvmVm, region: MemRegion): void {
  vmIoctl(vm, KVM_SET_USER_MEMORY_REGION2, encodeUserspaceMemoryRegion2({
    slot: region.slot, flags: region.flags, guestPhysAddr: region.gpa, memorySize: 0, userspaceAddr: region.hva,
    guestMemfd: region.guestMemfd, guestMemfdOffset: region.guestMemfdOffset,
  }));
  vm.regions.delete(region.slot);
  if (region.mmapSize) kvmMunmap(region.hva, region.mmapSize);
  if (region.fd >= 0) kvmClose(region.fd);
  if (region.guestMemfd >= 0) kvmClose(region.guestMemfd);
}

/** kvm_slot_to_fd(): the fd backing a slot's HVA (its guest_memfd when that is mappable), or -1. */
export function kvmSlotToFd(vm: KvmVm, slot: number): number {
  const region = vm.regions.get(slot);
  TEST_ASSERT(region, `No mem region with the requested slot found,\n  requested slot: ${slot}`);
  return region.fd;
}

/** vm_mem_region_delete(vm, slot). */
export function vmMemRegionDelete(vm: KvmVm, slot: number): void {
  const region = vm.regions.get(slot);
  TEST_ASSERT(region, `No mem region with the requested slot found,\n  requested slot: ${slot}`);
  __vmMemRegionDelete(vm, region);
}

/**
 * vm_mem_region_move(vm, slot, new_gpa): the same slot, HVA and gmem
 * binding at another GPA, in one KVM_SET_USER_MEMORY_REGION2 (KVM treats
 * it as KVM_MR_MOVE: the old GPAs stop resolving, the new ones map the
 * same host pages).
 */
export function vmMemRegionMove(vm: KvmVm, slot: number, newGpa: GpaArg): void {
  const region = vm.regions.get(slot);
  TEST_ASSERT(region, `No mem region with the requested slot found,\n  requested slot: ${slot}`);
  const r = __vmIoctl(vm, KVM_SET_USER_MEMORY_REGION2, encodeUserspaceMemoryRegion2({
    slot, flags: region.flags, guestPhysAddr: newGpa, memorySize: region.size, userspaceAddr: region.hva,
    guestMemfd: region.guestMemfd, guestMemfdOffset: region.guestMemfdOffset,
  }));
  TEST_ASSERT(!r.ret, `KVM_SET_USER_MEMORY_REGION2 failed\nret: ${r.ret} errno: ${r.errno} slot: ${slot} new_gpa: ${hex(BigInt(newGpa))}`);
  region.gpa = asGpa(BigInt(newGpa));
}

/**
 * addr_gpa2hva(): the shared backing of `gpa` in the test process (the
 * slot's userspace_addr, never the guest_memfd).
 *
 * @example
 * ```ts
 * const { vm, gpa } = cocoVmCreate('sw_protected', undefined);
 * hostFill(addrGpa2Hva(vm, gpa), 4096, 0x55);
 * expectHostSees(vm, gpa, 4096, 0x55);
 * ```
 */
export function addrGpa2Hva(vm: KvmVm, gpa: GpaArg): Hva {
  const g = BigInt(gpa);
  const r = memRegionFind(vm, g, g);
  if (!r) TEST_FAIL(`No vm physical memory at ${hex(g)}`);
  return asHva(r.hva + (g - r.gpa));
}

/** addr_hva2gpa(): the GPA whose shared backing is `hva` (a TEST_FAIL when no slot maps it). */
export function addrHva2Gpa(vm: KvmVm, hva: HvaArg): Gpa {
  const h = BigInt(hva);
  for (const r of vm.regions.values()) {
    if (r.mmapSize && h >= r.hva && h < r.hva + r.size) return asGpa(r.gpa + (h - r.hva));
  }
  return TEST_FAIL(`No mapping to a guest physical address, hva: ${hex(h)}`);
}

/**
 * addr_gva2gpa(): kvm_util maps guest memory 1:1 (the guest agent's
 * identity page tables, the model's flat view), so a GVA backed by a
 * memslot is the same number as a GPA; a GVA outside every slot is a
 * TEST_FAIL, as an unmapped address is in C.
 */
export function addrGva2Gpa(vm: KvmVm, gva: GvaArg): Gpa {
  const g = BigInt(gva);
  if (!memRegionFind(vm, g, g)) TEST_FAIL(`No mapping for vm virtual address, gva: ${hex(g)}`);
  return asGpa(g);
}

/** addr_gva2hva(): addrGpa2Hva(addrGva2Gpa(gva)). */
export function addrGva2Hva(vm: KvmVm, gva: GvaArg): Hva {
  return addrGpa2Hva(vm, addrGva2Gpa(vm, gva));
}
