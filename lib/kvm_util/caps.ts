/**
 * VM-scope capabilities: KVM_CHECK_EXTENSION on the VM fd answers per VM
 * type (KVM_CAP_GUEST_MEMFD_FLAGS, KVM_CAP_MEMORY_ATTRIBUTES), and
 * KVM_ENABLE_CAP turns on behaviour such as the MAP_GPA_RANGE exit.
 */
import type { SysResult } from '../kvm/backend.js';
import { encodeEnableCap } from '../kvm/structs.js';
import { KVM_CHECK_EXTENSION, KVM_ENABLE_CAP } from '../kvm/uapi.js';
import { __vmIoctl, assertVmVcpuIoctl, vmIoctl } from './ioctl.js';
import type { KvmVm } from './vm.js';

export { kvmCheckCap, kvmHasCap } from './kvm_dev.js';

/** vm_check_cap(): asserts ret >= 0 and returns it. */
export function vmCheckCap(vm: KvmVm, cap: number): number {
  const r = __vmIoctl(vm, KVM_CHECK_EXTENSION, cap);
  assertVmVcpuIoctl(vm, r.ret >= 0, 'KVM_CHECK_EXTENSION', r.ret, 'ret >= 0');
  return r.ret;
}

/** __vm_enable_cap(vm, cap, arg0): raw KVM_ENABLE_CAP. */
export function __vmEnableCap(vm: KvmVm, cap: number, arg0: bigint | number): SysResult {
  return __vmIoctl(vm, KVM_ENABLE_CAP, encodeEnableCap({ cap, args: [arg0] }));
}

/** vm_enable_cap(vm, cap, arg0): asserted. */
export function vmEnableCap(vm: KvmVm, cap: number, arg0: bigint | number): void {
  vmIoctl(vm, KVM_ENABLE_CAP, encodeEnableCap({ cap, args: [arg0] }));
}
