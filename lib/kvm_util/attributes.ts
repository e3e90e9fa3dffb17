/**
 * KVM_SET_MEMORY_ATTRIBUTES and its intent-named wrappers; the private and
 * shared wrappers pick per-VM or per-guest_memfd attributes as 7.4's
 * kvm_util.h does.
 */
import type { SysResult } from '../kvm/backend.js';
import { encodeMemoryAttributes } from '../kvm/structs.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_SET_MEMORY_ATTRIBUTES } from '../kvm/uapi.js';
import { TEST_ASSERT } from './assert.js';
import { __vmIoctl, vmIoctl } from './ioctl.js';
import { vmMemSetMemoryAttributes as gmemOrVmSetAttributes } from './gmem_attributes.js';
import type { GpaArg } from './types.js';
import type { KvmVm } from './vm.js';
import type { Num } from '../libc/int.js';

/**
 * Raw KVM_SET_MEMORY_ATTRIBUTES with any attributes and flags, for negative
 * tests: `{ ret, errno }`, nothing asserted, nothing recorded.
 *
 * @example
 * ```ts
 * const { vm, gpa } = cocoVmCreate('sw_protected', undefined);
 * const r = __vmSetMemoryAttributes(vm, gpa + 1n, 4096, KVM_MEMORY_ATTRIBUTE_PRIVATE);
 * TEST_ASSERT_EQ(r.errno, EINVAL); // kvm_vm_ioctl_set_mem_attributes(): the range must be page-aligned
 * ```
 */
export function __vmSetMemoryAttributes(vm: KvmVm, gpa: GpaArg, size: Num, attributes: Num, flags: Num = 0n): SysResult {
  return __vmIoctl(vm, KVM_SET_MEMORY_ATTRIBUTES, encodeMemoryAttributes({ address: gpa, size, attributes, flags }));
}

/**
 * vm_set_memory_attributes(): KVM_SET_MEMORY_ATTRIBUTES asserted. The
 * ioctl replaces *all* attributes of the range, so only "private" and
 * "nothing" can be expressed safely here. The request is also recorded for
 * the page-state map that visibility failures print.
 */
export function vmSetMemoryAttributes(vm: KvmVm, gpa: GpaArg, size: Num, attributes: Num): void {
  const attrs = BigInt(attributes);
  TEST_ASSERT(!attrs || attrs === KVM_MEMORY_ATTRIBUTE_PRIVATE, 'Update me to support multiple attributes!');
  vmIoctl(vm, KVM_SET_MEMORY_ATTRIBUTES, encodeMemoryAttributes({ address: gpa, size, attributes: attrs, flags: 0 }));
  vm.memEvents.push({ kind: 'attr', gpa: BigInt(gpa), size: BigInt(size), private: attrs !== 0n });
}

/**
 * vm_mem_set_memory_attributes() (7.4 kvm_util.h): through guest_memfd
 * where KVM keeps PRIVATE there (kvm_has_gmem_attributes), else the per-VM
 * ioctl, so one conversion test runs in both attribute modes.
 */
export function vmMemSetMemoryAttributes(vm: KvmVm, gpa: GpaArg, size: Num, attributes: Num): void {
  gmemOrVmSetAttributes(vm, gpa, size, attributes, vmSetMemoryAttributes);
}

/**
 * vm_mem_set_private(): make [gpa, gpa+size) private (KVM_MEMORY_ATTRIBUTE_PRIVATE),
 * per VM or per guest_memfd as the kernel tracks it.
 *
 * @example
 * ```ts
 * const { vm, gpa } = cocoVmCreate('sw_protected', undefined);
 * vmMemSetPrivate(vm, gpa, 4096);
 * TEST_ASSERT(pageState(vm, gpa) === 'private', pageStateMap(vm, gpa));
 * ```
 */
export function vmMemSetPrivate(vm: KvmVm, gpa: GpaArg, size: Num): void {
  vmMemSetMemoryAttributes(vm, gpa, size, KVM_MEMORY_ATTRIBUTE_PRIVATE);
}

/** vm_mem_set_shared(): make [gpa, gpa+size) shared (no attributes). */
export function vmMemSetShared(vm: KvmVm, gpa: GpaArg, size: Num): void {
  vmMemSetMemoryAttributes(vm, gpa, size, 0n);
}
