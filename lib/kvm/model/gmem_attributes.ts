/**
 * [7.4] KVM_SET_MEMORY_ATTRIBUTES2 on a guest_memfd: the in-place conversion
 * series queued for 7.4 (Ackerley Tng, Sean Christopherson et al.,
 * "guest_memfd: In-place conversion support", v8 2026-06-18, applied as v13;
 * the commits are in linux-next 2026-09-23). Rules, in the kernel's order
 * (virt/kvm/guest_memfd.c):
 *
 * - kvm_gmem_ioctl(): the ioctl exists only with per-gmem attributes
 *   (kvm.vm_memory_attributes=N); otherwise, and for any other request, ENOTTY.
 * - kvm_gmem_set_attributes(): copy_from_user (EFAULT); flags != 0, any
 *   reserved[] word != 0, a VM without private memory
 *   (!kvm_arch_has_private_mem()), attributes beyond PRIVATE, size 0 or a
 *   wrapping range, an unaligned offset or size, offset >= i_size or
 *   offset + size > i_size: EINVAL. The old ZERO/PRESERVE content modes
 *   were dropped: flags must be 0.
 * - __kvm_gmem_set_attributes(): a range that already has the attributes
 *   returns 0 at once ("Return early if range already has requested
 *   attributes"); towards private the host mappings are unmapped and every
 *   folio must hold only guest_memfd's references
 *   (kvm_gmem_is_safe_for_conversion()), else EAGAIN with error_offset =
 *   max(offset, first such page) written back (copy_to_user only on
 *   failure); then the guest mappings are invalidated and, towards shared,
 *   kvm_arch_gmem_invalidate() runs on the pages that exist.
 *
 * KVM itself never touches the bytes ("KVM does not directly manipulate the
 * memory contents", Documentation/virt/kvm/api.rst of the series): for
 * SW_PROTECTED a page keeps its data in both directions, which is what
 * guest_memfd_conversions_test checks; the platforms' invalidate hooks
 * decide what SNP and TDX leave behind.
 */

import { err, ok, type IoctlArg, type SysResult } from '../backend.js';
import { EAGAIN, EFAULT, EINVAL, ENOTTY } from '../errno.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, PAGE_SIZE } from '../uapi.js';
import { SIZEOF_KVM_MEMORY_ATTRIBUTES2, decodeMemoryAttributes2, setMemoryAttributes2ErrorOffset } from '../structs.js';
import type { Gmem } from './gmem.js';
import { structArg } from './ioctl_args.js';
import type { Vm } from './vm.js';

const PAGE = BigInt(PAGE_SIZE);
const U64 = (1n << 64n) - 1n;

export function gmemSetAttributes(g: Gmem, vm: Vm, arg: IoctlArg | undefined): SysResult {
  if (!vm.sys.profile.perGmemAttributes) return err(ENOTTY);
  const b = structArg(arg, SIZEOF_KVM_MEMORY_ATTRIBUTES2);
  if (!b) return err(EFAULT);
  const a = decodeMemoryAttributes2(b);
  if (a.flags) return err(EINVAL);
  if (a.reserved.some((r) => r !== 0n)) return err(EINVAL);
  if (!vm.hasPrivateMem) return err(EINVAL);
  if (a.attributes & ~KVM_MEMORY_ATTRIBUTE_PRIVATE) return err(EINVAL);
  if (a.size === 0n || a.offset + a.size > U64) return err(EINVAL);
  if (a.offset % PAGE !== 0n || a.size % PAGE !== 0n) return err(EINVAL);
  if (a.offset >= g.size || a.offset + a.size > g.size) return err(EINVAL);

  const first = Number(a.offset / PAGE);
  const end = Number((a.offset + a.size) / PAGE);
  if (g.attrs.uniform(first, end, a.attributes)) return ok();

  const toPrivate = (a.attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0n;
  if (toPrivate) {
    const pinned = g.pages.firstPinned(first, end);
    if (pinned !== undefined) {
      setMemoryAttributes2ErrorOffset(b, BigInt(Math.max(first, pinned)) * PAGE);
      return err(EAGAIN);
    }
  }
  g.attrs.set(first, end, a.attributes);
  vm.gmemConverted(g, first, end, toPrivate);
  return ok();
}
