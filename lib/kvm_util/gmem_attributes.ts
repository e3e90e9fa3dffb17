/**
 * [7.4] Per-guest_memfd memory attributes, as kvm_util.h of the in-place
 * series has them (v8 30/46 "KVM: selftests: Add helpers for calling ioctls
 * on guest_memfd", 41/46 kvm_gpa_to_guest_memfd(), 42/46
 * vm_mem_set_memory_attributes()):
 *
 * - __gmem_ioctl / gmem_ioctl: ioctls on a guest_memfd fd, raw and asserted;
 * - __gmem_set_memory_attributes(fd, offset, size, attributes, &error_offset)
 *   and the __gmem_set_private/shared wrappers: raw, error_offset copied out
 *   whatever the result;
 * - gmem_set_memory_attributes(): asserted, after
 *   TEST_ASSERT_SUPPORTED_ATTRIBUTES and a skip when KVM reports no
 *   attributes for the guest_memfd ioctl;
 * - kvm_has_gmem_attributes: kvm_has_cap(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES),
 *   the switch every conversion test reads;
 * - vm_mem_set_memory_attributes(): through guest_memfd, slot piece by slot
 *   piece, when KVM tracks PRIVATE there, else the per-VM ioctl.
 */
import type { Backend, SysResult } from '../kvm/backend.js';
import { decodeMemoryAttributes2, encodeMemoryAttributes2 } from '../kvm/structs.js';
import { KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES, KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_MEM_GUEST_MEMFD, KVM_SET_MEMORY_ATTRIBUTES2 } from '../kvm/uapi.js';
import { KVM_IOCTL_ERROR, TEST_ASSERT, __TEST_REQUIRE } from './assert.js';
import { noteResult } from './errno_state.js';
import { ioctlName } from './ioctl.js';
import { kvmBackend, kvmCheckCap } from './kvm_dev.js';
import { memRegionFind } from './memslots.js';
import { fstat } from './syscalls.js';
import { hex } from './types.js';
import type { KvmVm } from './vm.js';
import type { Num } from '../libc/int.js';

/** __gmem_ioctl(gmem_fd, cmd, arg): raw. */
export function __gmemIoctl(gmemFd: number, request: number, arg?: Uint8Array | bigint | number): SysResult {
  return noteResult(kvmBackend().ioctl(gmemFd, request, arg));
}

/** gmem_ioctl(gmem_fd, cmd, arg): asserts ret == 0, naming the ioctl. */
export function gmemIoctl(gmemFd: number, request: number, arg?: Uint8Array | bigint | number): void {
  const r = __gmemIoctl(gmemFd, request, arg);
  TEST_ASSERT(r.ret === 0, KVM_IOCTL_ERROR(ioctlName(request), r.ret, r.errno));
}

/** TEST_ASSERT_SUPPORTED_ATTRIBUTES(): the {,2} ioctls overwrite *all* attributes, so only PRIVATE or nothing. */
export function TEST_ASSERT_SUPPORTED_ATTRIBUTES(attributes: Num): void {
  const a = BigInt(attributes);
  TEST_ASSERT(!a || a === KVM_MEMORY_ATTRIBUTE_PRIVATE, 'Update me to support multiple attributes!');
}

/** __gmemSetMemoryAttributes()'s result: ret/errno and the struct's error_offset afterwards. */
export interface GmemAttributesResult extends SysResult {
  /** struct kvm_memory_attributes2.error_offset after the call (KVM writes it only on failure). */
  readonly errorOffset: bigint;
}

/**
 * __gmem_set_memory_attributes(): raw KVM_SET_MEMORY_ATTRIBUTES2 on `fd`;
 * `errorOffset` is what the struct holds afterwards, `initialErrorOffset`
 * what it held before (C tests preset it to catch a missing write).
 */
export function __gmemSetMemoryAttributes(fd: number, offset: Num, size: Num, attributes: Num, initialErrorOffset: Num = 0): GmemAttributesResult {
  const buf = encodeMemoryAttributes2({ offset, size, attributes, flags: 0, errorOffset: initialErrorOffset });
  const r = __gmemIoctl(fd, KVM_SET_MEMORY_ATTRIBUTES2, buf);
  return { ...r, errorOffset: decodeMemoryAttributes2(buf).errorOffset };
}

/** __gmem_set_private(): raw KVM_SET_MEMORY_ATTRIBUTES2 making [offset, offset+size) of `fd` private. */
export const __gmemSetPrivate = (fd: number, offset: Num, size: Num, initialErrorOffset: Num = 0): GmemAttributesResult =>
  __gmemSetMemoryAttributes(fd, offset, size, KVM_MEMORY_ATTRIBUTE_PRIVATE, initialErrorOffset);
/** __gmem_set_shared(): raw KVM_SET_MEMORY_ATTRIBUTES2 making [offset, offset+size) of `fd` shared. */
export const __gmemSetShared = (fd: number, offset: Num, size: Num, initialErrorOffset: Num = 0): GmemAttributesResult =>
  __gmemSetMemoryAttributes(fd, offset, size, 0n, initialErrorOffset);

/** gmem_set_memory_attributes(): asserted; skips where KVM offers no attributes through guest_memfd. */
export function gmemSetMemoryAttributes(fd: number, offset: Num, size: Num, attributes: Num): void {
  TEST_ASSERT_SUPPORTED_ATTRIBUTES(attributes);
  __TEST_REQUIRE(kvmCheckCap(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) > 0, 'No valid attributes for guest_memfd ioctl!');
  const buf = encodeMemoryAttributes2({ offset, size, attributes, flags: 0 });
  gmemIoctl(fd, KVM_SET_MEMORY_ATTRIBUTES2, buf);
}

/** gmem_set_private(): gmemSetMemoryAttributes() with KVM_MEMORY_ATTRIBUTE_PRIVATE. */
export const gmemSetPrivate = (fd: number, offset: Num, size: Num): void => gmemSetMemoryAttributes(fd, offset, size, KVM_MEMORY_ATTRIBUTE_PRIVATE);
/** gmem_set_shared(): gmemSetMemoryAttributes() with no attributes. */
export const gmemSetShared = (fd: number, offset: Num, size: Num): void => gmemSetMemoryAttributes(fd, offset, size, 0n);

const hasGmemAttributes = new WeakMap<Backend, boolean>();

/**
 * kvm_has_gmem_attributes: KVM tracks PRIVATE in guest_memfd (7.4 with
 * kvm.vm_memory_attributes=N). Read once per backend, as kvm_selftest_init()
 * reads it once per process.
 */
export function kvmHasGmemAttributes(): boolean {
  const b = kvmBackend();
  let v = hasGmemAttributes.get(b);
  if (v === undefined) {
    v = kvmCheckCap(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) !== 0;
    hasGmemAttributes.set(b, v);
  }
  return v;
}

/** Where a GPA lives in its slot's guest_memfd (kvmGpaToGuestMemfd()). */
export interface GpaGuestMemfd {
  /** The slot's guest_memfd (kvm_util's fd for it). */
  readonly fd: number;
  /** Offset of `gpa` in that guest_memfd. */
  readonly offset: bigint;
  /** Bytes from `gpa` to the end of the slot. */
  readonly nrBytes: bigint;
}

/** kvm_gpa_to_guest_memfd(): the guest_memfd, offset and bytes left in the slot holding `gpa`. */
export function kvmGpaToGuestMemfd(vm: KvmVm, gpa: Num): GpaGuestMemfd {
  const g = BigInt(gpa);
  const region = memRegionFind(vm, g, g);
  TEST_ASSERT(region && region.flags & KVM_MEM_GUEST_MEMFD, `guest_memfd memory region not found for GPA ${hex(g)}`);
  const off = g - region.gpa;
  return { fd: region.guestMemfd, offset: region.guestMemfdOffset + off, nrBytes: region.size - off };
}

/**
 * vm_mem_set_memory_attributes(): set [gpa, gpa+size) to `attributes` where
 * KVM keeps them: through each slot's guest_memfd when kvm_has_gmem_attributes,
 * else KVM_SET_MEMORY_ATTRIBUTES on the VM. Each piece is recorded for the
 * page-state maps of failure messages.
 */
export function vmMemSetMemoryAttributes(vm: KvmVm, gpa: Num, size: Num, attributes: Num, setVm: (vm: KvmVm, gpa: Num, size: Num, attributes: Num) => void): void {
  const attrs = BigInt(attributes);
  if (!kvmHasGmemAttributes()) {
    setVm(vm, gpa, size, attrs);
    return;
  }
  const end = BigInt(gpa) + BigInt(size);
  for (let addr = BigInt(gpa); addr < end;) {
    const { fd, offset, nrBytes } = kvmGpaToGuestMemfd(vm, addr);
    const len = end - addr < nrBytes ? end - addr : nrBytes;
    gmemSetMemoryAttributes(fd, offset, len, attrs);
    const ino = fstat(fd).stat?.ino ?? BigInt(fd);
    vm.memEvents.push({ kind: 'attr', gpa: addr, size: len, private: attrs !== 0n, gmemIno: ino });
    addr += len;
  }
}
