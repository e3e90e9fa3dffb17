/**
 * KVM_SET_USER_MEMORY_REGION and KVM_SET_USER_MEMORY_REGION2
 * (virt/kvm/kvm_main.c): kvm_vm_ioctl()'s v1 flag sanity,
 * kvm_vm_ioctl_set_memory_region()'s user slot id, then
 * kvm_set_memory_region() in order (check_memory_region_flags(), alignment
 * and access_ok(), address space, wrap, size, the change kind, overlap,
 * kvm_arch_prepare_memory_region()), with kvm_gmem_bind() for a
 * guest_memfd slot.
 */

import { err, ok, type IoctlArg, type SysResult } from '../../backend.js';
import { EBADF, EEXIST, EFAULT, EINVAL } from '../../errno.js';
import {
  SIZEOF_KVM_USERSPACE_MEMORY_REGION, SIZEOF_KVM_USERSPACE_MEMORY_REGION2, decodeUserspaceMemoryRegion2,
} from '../../structs.js';
import { KVM_MEM_GUEST_MEMFD, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, KVM_USER_MEM_SLOTS, PAGE_SIZE } from '../../uapi.js';
import { Gmem } from '../gmem.js';
import { TASK_SIZE } from '../host_as.js';
import { structArg } from '../ioctl_args.js';
import type { Memslot } from '../memslots.js';
import type { Vm } from '../vm.js';

const PAGE = BigInt(PAGE_SIZE);
const U64 = (1n << 64n) - 1n;
/** KVM_MEM_MAX_NR_PAGES on x86 ((1UL << 31) - 1). */
const KVM_MEM_MAX_NR_PAGES = (1n << 31n) - 1n;

/**
 * KVM_SET_USER_MEMORY_REGION(2): kvm_vm_ioctl() (v1 flag sanity),
 * kvm_vm_ioctl_set_memory_region() (user slot id), then
 * kvm_set_memory_region() in order, and kvm_gmem_bind().
 */
export function kvmVmIoctlSetMemoryRegion(vm: Vm, arg: IoctlArg | undefined, v2: boolean): SysResult {
  const b = structArg(arg, v2 ? SIZEOF_KVM_USERSPACE_MEMORY_REGION2 : SIZEOF_KVM_USERSPACE_MEMORY_REGION);
  if (!b) return err(EFAULT);
  const m = decodeUserspaceMemoryRegion2(v2 ? b.subarray(0, SIZEOF_KVM_USERSPACE_MEMORY_REGION2) : b.subarray(0, SIZEOF_KVM_USERSPACE_MEMORY_REGION));
  // kvm_vm_ioctl(): the v1 ioctl knows only LOG_DIRTY_PAGES and READONLY.
  if (!v2 && (m.flags & ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))) return err(EINVAL);
  // kvm_vm_ioctl_set_memory_region(): (u16)slot must be a user slot.
  const id = m.slot & 0xffff;
  const asId = m.slot >>> 16;
  if (id >= KVM_USER_MEM_SLOTS) return err(EINVAL);
  // check_memory_region_flags().
  let valid = KVM_MEM_LOG_DIRTY_PAGES;
  if (vm.sys.profile.memslotGmemFlag === 'always' || vm.hasPrivateMem) valid |= KVM_MEM_GUEST_MEMFD;
  const wantsGmem = (m.flags & KVM_MEM_GUEST_MEMFD) !== 0;
  // Dirty logging of private memory is not supported.
  if (wantsGmem) valid &= ~KVM_MEM_LOG_DIRTY_PAGES;
  // READONLY: x86 has it except for protected-state VMs, and never with GUEST_MEMFD.
  if (!vm.hasProtectedState && !wantsGmem) valid |= KVM_MEM_READONLY;
  if (m.flags & ~valid) return err(EINVAL);
  // General sanity checks: alignment, access_ok() of the user range.
  if (m.memorySize % PAGE !== 0n) return err(EINVAL);
  if (m.guestPhysAddr % PAGE !== 0n) return err(EINVAL);
  if (m.userspaceAddr % PAGE !== 0n || m.userspaceAddr + m.memorySize > TASK_SIZE) return err(EINVAL);
  if (wantsGmem && (m.guestMemfdOffset % PAGE !== 0n || m.guestMemfdOffset + m.memorySize > U64)) return err(EINVAL);
  // Then, as __kvm_set_memory_region() orders them: the address space id, a GPA range that wraps, the slot size limit.
  if (asId >= vm.nrAddressSpaces) return err(EINVAL);
  if (m.guestPhysAddr + m.memorySize > U64) return err(EINVAL);
  if (m.memorySize / PAGE > KVM_MEM_MAX_NR_PAGES) return err(EINVAL);
  const old = vm.slots.get(asId, id);
  if (m.memorySize === 0n) {
    if (!old) return err(EINVAL);
    kvmDeleteMemslot(vm, old);
    return ok();
  }
  const baseGfn = Number(m.guestPhysAddr / PAGE);
  const npages = Number(m.memorySize / PAGE);
  let change: 'create' | 'move' | 'flags';
  if (!old) {
    change = 'create';
  } else {
    // Private memslots are immutable: they can only be deleted.
    if (wantsGmem) return err(EINVAL);
    if (m.userspaceAddr !== old.userspaceAddr || npages !== old.npages ||
      ((m.flags ^ old.flags) & (KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD))) return err(EINVAL);
    if (baseGfn !== old.baseGfn) change = 'move';
    else if (m.flags !== old.flags) change = 'flags';
    else return ok();
  }
  if (change !== 'flags' && vm.slots.overlaps(asId, id, baseGfn, baseGfn + npages)) return err(EEXIST);
  // kvm_arch_prepare_memory_region() (x86): the slot must end below kvm_mmu_max_gfn().
  // kvm_set_memory_region() binds the guest_memfd first, so a bind error wins over this one.
  const pastMaxGfn = change !== 'flags' && BigInt(baseGfn + npages - 1) > (1n << BigInt(vm.sys.maxPhysBits - 12)) - 1n;
  if (pastMaxGfn && !wantsGmem) return err(EINVAL);
  if (change === 'move') {
    vm.slots.move(old!, baseGfn);
    return ok();
  }
  if (change === 'flags') {
    old!.flags = m.flags;
    return ok();
  }
  let gmem: Gmem | null = null;
  let pgoff = 0;
  if (wantsGmem) {
    // kvm_gmem_bind(): EBADF for no file, EINVAL for anything else wrong.
    const f = vm.sys.fds.get(m.guestMemfd | 0);
    if (!f) return err(EBADF);
    // A file whose f_op is not kvm_gmem_fops, or another VM's guest_memfd.
    if (!(f instanceof Gmem) || f.vm !== vm) return err(EINVAL);
    const off = BigInt.asIntN(64, m.guestMemfdOffset);
    if (off < 0n || off % PAGE !== 0n || off + m.memorySize > f.size) return err(EINVAL);
    pgoff = Number(off / PAGE);
    if (f.rangeBound(pgoff, pgoff + npages)) return err(EINVAL);
    gmem = f;
    // kvm_set_memslot() fails after the bind, which is undone (out_unbind).
    if (pastMaxGfn) return err(EINVAL);
  }
  const slot: Memslot = {
    asId, id, flags: m.flags, baseGfn, npages, userspaceAddr: m.userspaceAddr, gmem,
    hasGmemFlag: wantsGmem, gmemPgoff: pgoff, gmemOnly: gmemOnlySlot(vm, gmem),
  };
  gmem?.bind({ start: pgoff, end: pgoff + npages, owner: slot });
  vm.slots.insert(slot);
  return ok();
}

/**
 * KVM_MEMSLOT_GMEM_ONLY: 6.18 serves every fault of a slot bound to an
 * mmap-able gmem from the gmem; with per-gmem attributes (7.4) every gmem
 * slot does ("KVM: guest_memfd: Always fault from guest_memfd if in-place
 * conversion is enabled"), as shared and private pages are one page.
 */
function gmemOnlySlot(vm: Vm, gmem: Gmem | null): boolean {
  if (!gmem) return false;
  if (vm.sys.profile.perGmemAttributes) return true;
  return vm.sys.profile.gmemOnlySlots && gmem.mmapable;
}

export function kvmDeleteMemslot(vm: Vm, s: Memslot): void {
  // kvm_gmem_unbind() on delete: the gmem range can be bound again.
  s.gmem?.unbind(s);
  vm.slots.remove(s);
}
