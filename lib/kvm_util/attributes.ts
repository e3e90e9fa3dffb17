/**
 * KVM_SET_MEMORY_ATTRIBUTES and its intent-named wrappers.
 */
import type { SysResult } from '../kvm/backend.js';
import { encodeMemoryAttributes } from '../kvm/structs.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_SET_MEMORY_ATTRIBUTES } from '../kvm/uapi.js';
import { TEST_ASSERT } from './assert.js';
import { __vmIoctl, vmIoctl } from './ioctl.js';
import type { GpaArg } from './types.js';
import type { KvmVm } from './vm.js';

type Num = bigint | number;

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
 * vm_mem_set_private(): make [gpa, gpa+size) private (KVM_MEMORY_ATTRIBUTE_PRIVATE).
 *
 * @example
 * ```ts
 * const { vm, gpa } = cocoVmCreate('sw_protected', undefined);
 * vmMemSetPrivate(vm, gpa, 4096);
 * TEST_ASSERT(pageState(vm, gpa) === 'private', pageStateMap(vm, gpa));
 * ```
 */
export function vmMemSetPrivate(vm: KvmVm, gpa: GpaArg, size: Num): void {
  vmSetMemoryAttributes(vm, gpa, size, KVM_MEMORY_ATTRIBUTE_PRIVATE);
}

/** vm_mem_set_shared(): make [gpa, gpa+size) shared (no attributes). */
export function vmMemSetShared(vm: KvmVm, gpa: GpaArg, size: Num): void {
  vmSetMemoryAttributes(vm, gpa, size, 0n);
}
