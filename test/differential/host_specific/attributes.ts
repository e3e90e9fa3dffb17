/**
 * KVM_SET_MEMORY_ATTRIBUTES and KVM_PRE_FAULT_MEMORY on the PVM host.
 *
 * - The host kernel has no CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES (x86 selects
 *   it only for SW_PROTECTED, SEV and TDX), so kvm_vm_ioctl() has no
 *   KVM_SET_MEMORY_ATTRIBUTES case and every call ends in
 *   kvm_arch_vm_ioctl()'s ENOTTY, before any argument is looked at. The model
 *   describes a 6.18 host that has the ioctl; its answers are the kernel's
 *   validation order (kselftest.md §3), listed with each call.
 * - PVM uses shadow paging: KVM_CAP_PRE_FAULT_MEMORY is tdp_enabled (0), and
 *   the x86 hook refuses with EOPNOTSUPP because the vCPU's MMU is not the TDP
 *   one (kvm_tdp_map_page(): mmu->page_fault != kvm_tdp_page_fault), leaving
 *   the range untouched. The generic checks before the hook (flags,
 *   alignment, size 0, wrap) agree.
 */

import type { HostSpecific } from '../../../tools/kvm_probe/compare.js';
import { ATTRIBUTE_CALLS, PRE_FAULT_CALLS, PRE_FAULT_NO_SLOT } from '../cases/attributes.js';

const PVM = 'pvm';
const NO_ATTRIBUTES = 'host without CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES: KVM_SET_MEMORY_ATTRIBUTES is ENOTTY';
const NO_TDP = 'PVM shadow paging: KVM_PRE_FAULT_MEMORY reaches kvm_tdp_map_page(), which needs the TDP MMU (EOPNOTSUPP)';

/** The range a refused pre-fault leaves as it was. */
function untouched(call: string): string {
  const [, , gpa, size] = call.split(' ');
  return `-1 EOPNOTSUPP gpa=0x${BigInt(gpa!).toString(16)} size=0x${BigInt(size!).toString(16)}`;
}

export const attributeHostSpecific: HostSpecific[] = [
  ...ATTRIBUTE_CALLS.map((c): HostSpecific => ({ host: PVM, caseName: 'set-attributes', call: c.call, real: '-1 ENOTTY', model: c.kernel, why: NO_ATTRIBUTES })),
  { host: PVM, caseName: 'pre-fault', call: 'check_ext vm 236', real: '0', model: '1', why: 'x86 answers KVM_CAP_PRE_FAULT_MEMORY with tdp_enabled; PVM uses shadow paging' },
  {
    host: PVM, caseName: 'pre-fault-no-slot', call: PRE_FAULT_NO_SLOT.call,
    real: '-1 ENOSPC gpa=0x40000000 size=0x1000', model: PRE_FAULT_NO_SLOT.kernel,
    why: 'observed on PVM: with no memslot at all the call fails with ENOSPC before the TDP check (PVM\'s MMU load, kvm_mmu_reload(), not generic code); with a memslot it is EOPNOTSUPP',
  },
  ...PRE_FAULT_CALLS.map((c): HostSpecific => ({ host: PVM, caseName: 'pre-fault', call: c.call, real: untouched(c.call), model: c.kernel, why: NO_TDP })),
];
