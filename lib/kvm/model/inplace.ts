/**
 * [P] In-place conversion (Ackerley Tng et al., "guest_memfd: In-place
 * conversion support", RFC v1 2025-10 … v7 2026-05): the guest_memfd ioctl
 * KVM_SET_MEMORY_ATTRIBUTES2 {offset, size, attributes, flags, error_offset}
 * sets the per-inode attributes; `flags` carries the content mode (ZERO,
 * PRESERVE, or 0 = unspecified). Only in the `inplace` profile.
 *
 * Content rules the model applies to pages whose state changes:
 * - PRESERVE keeps the bytes (the guest reads what the host wrote, and back);
 * - ZERO (private→shared only) clears them;
 * - 0 (unspecified) clears them, so an unspecified conversion never exposes
 *   private bytes to the host.
 * Pinned pages (EAGAIN + error_offset) are not modelled, and a guest_memfd
 * without GUEST_MEMFD_FLAG_MMAP is refused (EINVAL): the model tracks per-gmem
 * attributes only where the gmem is the single backing of its GFNs.
 */

import type { IoctlArg, SysResult } from '../backend.js';
import { EFAULT, EINVAL, EOPNOTSUPP } from '../errno.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_SET_MEMORY_ATTRIBUTES2_PRESERVE, KVM_SET_MEMORY_ATTRIBUTES2_ZERO, PAGE_SIZE } from '../uapi.js';
import { SIZEOF_KVM_MEMORY_ATTRIBUTES2, decodeMemoryAttributes2 } from '../structs.js';
import type { Gmem } from './gmem.js';
import { err, ok, structArg, type Vm } from './vm.js';

const PAGE = BigInt(PAGE_SIZE);
const MODES = KVM_SET_MEMORY_ATTRIBUTES2_ZERO | KVM_SET_MEMORY_ATTRIBUTES2_PRESERVE;

export function setMemoryAttributes2(g: Gmem, vm: Vm, arg: IoctlArg | undefined): SysResult {
  const b = structArg(arg, SIZEOF_KVM_MEMORY_ATTRIBUTES2);
  if (!b) return err(EFAULT);
  const a = decodeMemoryAttributes2(b);
  // The model converts in place only where one backing exists: an mmap-able guest_memfd.
  if (!g.mmapable) return err(EINVAL);
  // Flag and attribute validation mirror kvm_vm_ioctl_set_mem_attributes(), plus the content modes.
  if (a.flags & ~MODES) return err(EINVAL);
  if (a.flags === MODES) return err(EINVAL);
  if (a.attributes & ~vm.supportedAttributes) return err(EINVAL);
  if (a.size === 0n || a.offset + a.size > (1n << 64n) - 1n) return err(EINVAL);
  if (a.offset % PAGE !== 0n || a.size % PAGE !== 0n) return err(EINVAL);
  if (a.offset + a.size > g.size) return err(EINVAL);
  const toPrivate = (a.attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0n;
  const mode = a.flags;
  // Per-type support: a mode the platform lacks, or ZERO towards private, is EOPNOTSUPP.
  if (mode && !((vm.platform.inPlaceModes ?? 0n) & mode)) return err(EOPNOTSUPP);
  if (mode === KVM_SET_MEMORY_ATTRIBUTES2_ZERO && toPrivate) return err(EOPNOTSUPP);
  const veto = vm.pvm.checkInPlaceConversion?.(toPrivate, mode);
  if (veto) return err(veto);
  const first = Number(a.offset / PAGE);
  const end = Number((a.offset + a.size) / PAGE);
  if (mode !== KVM_SET_MEMORY_ATTRIBUTES2_PRESERVE) {
    // Clear only pages whose state changes; walk runs so a huge range stays cheap.
    for (const r of [...g.attrs.entries()]) {
      const s = Math.max(first, r.start);
      const e = Math.min(end, r.end);
      if (s < e && !toPrivate && (r.value & KVM_MEMORY_ATTRIBUTE_PRIVATE)) g.pages.drop(s, e);
    }
    if (toPrivate) {
      let k = first;
      for (const r of [...g.attrs.entries()]) {
        if (r.end <= first || r.start >= end) continue;
        if (r.start > k) g.pages.drop(k, Math.min(r.start, end));
        k = Math.max(k, r.end);
      }
      if (k < end) g.pages.drop(k, end);
    }
  }
  g.attrs.set(first, end, a.attributes);
  return ok();
}
