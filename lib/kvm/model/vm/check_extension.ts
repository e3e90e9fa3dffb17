/**
 * KVM_CHECK_EXTENSION, on /dev/kvm and on a VM: the audited table of
 * caps.ts (kvm_vm_ioctl_check_extension_generic(), virt/kvm/kvm_main.c, and
 * kvm_vm_ioctl_check_extension(), arch/x86/kvm/x86.c); a VM's platform may
 * answer for its own type first.
 */

import { capAnswer } from '../caps.js';
import type { Vm, VmHost } from '../vm.js';

/** The answer for `cap` at system scope (vm undefined) or for `vm`. */
export function capValue(cap: number, sys: Pick<VmHost, 'profile' | 'platforms'>, vm?: Vm): number {
  return capAnswer(cap, { profile: sys.profile, vmTypesMask: sys.platforms.vmTypesMask(), vm });
}

/** KVM_CHECK_EXTENSION on a VM fd. */
export function vmCheckExtension(vm: Vm, cap: number): number {
  const own = vm.pvm.checkExtension?.(cap);
  if (own !== undefined) return own;
  return capValue(cap, vm.sys, vm);
}
