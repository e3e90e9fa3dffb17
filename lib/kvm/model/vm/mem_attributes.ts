/**
 * Memory attributes of a VM's GFNs (virt/kvm/kvm_main.c): the
 * KVM_SET_MEMORY_ATTRIBUTES ioctl (kvm_vm_ioctl_set_mem_attributes()), the
 * store that unmaps what changed (kvm_vm_set_mem_attributes()), and the
 * lookup the MMU asks (kvm_mem_is_private()), which with per-guest_memfd
 * attributes (7.4) reads the guest_memfd bound to the GFN instead.
 */

import { err, ok, type IoctlArg, type SysResult } from '../../backend.js';
import { EFAULT, EINVAL } from '../../errno.js';
import { SIZEOF_KVM_MEMORY_ATTRIBUTES, decodeMemoryAttributes } from '../../structs.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, PAGE_SIZE } from '../../uapi.js';
import { structArg } from '../ioctl_args.js';
import type { Vm } from '../vm.js';

const PAGE = BigInt(PAGE_SIZE);
const U64 = (1n << 64n) - 1n;

/**
 * kvm_mem_is_private()'s source of truth for a GFN. Per-VM mode: the VM's
 * xarray (kvm_get_vm_memory_attributes()). Per-guest_memfd mode (7.4):
 * kvm_gmem_is_private(), the attribute tree of the gmem bound to the GFN's
 * slot; a GFN with no slot, or a slot without a live gmem, is shared, so
 * deleting a slot makes its GFNs shared.
 */
export function vmAttributesAt(vm: Vm, gfn: number): bigint {
  if (vm.sys.profile.perGmemAttributes) {
    const s = vm.slots.find(0, gfn);
    if (!s || !s.gmem) return 0n;
    return s.gmem.attrs.get(s.gmemPgoff + gfn - s.baseGfn);
  }
  return vm.attrs.get(gfn);
}

/** kvm_mem_is_private(): PRIVATE set on a VM that has private memory. */
export function kvmMemIsPrivate(vm: Vm, gfn: number): boolean {
  return vm.hasPrivateMem && (vmAttributesAt(vm, gfn) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0n;
}

/** kvm_vm_set_mem_attributes(): replace the per-VM attributes of GFNs [start, end). */
export function vmSetMemAttributes(vm: Vm, start: number, end: number, value: bigint): void {
  // Nothing to do, and nothing unmapped, when the whole range has the attributes already.
  if (vm.attrs.uniform(start, end, value)) return;
  vm.attrs.set(start, end, value);
  // The changed GFNs are unmapped.
  vm.zap(BigInt(start) * PAGE, BigInt(end - start) * PAGE, 'attributes');
}

/** kvm_vm_ioctl_set_mem_attributes(). */
export function kvmVmIoctlSetMemAttributes(vm: Vm, arg: IoctlArg | undefined): SysResult {
  const b = structArg(arg, SIZEOF_KVM_MEMORY_ATTRIBUTES);
  if (!b) return err(EFAULT);
  const a = decodeMemoryAttributes(b);
  if (a.flags) return err(EINVAL);
  if (a.attributes & ~vm.supportedAttributes) return err(EINVAL);
  if (a.size === 0n || a.address + a.size > U64) return err(EINVAL);
  if (a.address % PAGE !== 0n || a.size % PAGE !== 0n) return err(EINVAL);
  vmSetMemAttributes(vm, Number(a.address / PAGE), Number((a.address + a.size) / PAGE), a.attributes);
  return ok();
}
