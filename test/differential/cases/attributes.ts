/**
 * KVM_SET_MEMORY_ATTRIBUTES (checklist 40, 41, 42) and KVM_PRE_FAULT_MEMORY
 * (53, 54) on a default VM. Each call carries what the modelled 6.18 kernel
 * answers (kselftest.md §3 validation rules, in kernel order), so the
 * host-specific table for hosts without the ioctl or without TDP can be
 * derived from the same list.
 */

import type { DiffCase } from '../../../tools/kvm_probe/differential.js';
import { bits, prelude, script } from './script.js';

export interface ExpectedCall {
  readonly call: string;
  /** The 6.18 kernel's answer (normalized form), where the host differs. */
  readonly kernel: string;
}

const EINVAL = '-1 EINVAL';

/** kvm_vm_ioctl_set_mem_attributes() (virt/kvm/kvm_main.c) on a VM without private memory. */
export const ATTRIBUTE_CALLS: readonly ExpectedCall[] = [
  // flags != 0 first
  { call: 'set_attr vm 0 0x1000 0 1', kernel: EINVAL },
  { call: 'set_attr vm 0 0x1000 0 0x8000000000000000', kernel: EINVAL },
  // attributes outside kvm_supported_mem_attributes(): PRIVATE is one of them on a default VM
  ...bits(64).map((b) => ({ call: `set_attr vm 0 0x1000 ${b} 0`, kernel: EINVAL })),
  // size 0, wrap
  { call: 'set_attr vm 0 0 0 0', kernel: EINVAL },
  { call: 'set_attr vm 0xfffffffffffff000 0x2000 0 0', kernel: EINVAL },
  { call: 'set_attr vm 0x1000 0xfffffffffffff000 0 0', kernel: EINVAL },
  // unaligned address or size
  { call: 'set_attr vm 1 0x1000 0 0', kernel: EINVAL },
  { call: 'set_attr vm 0xfff 0x1000 0 0', kernel: EINVAL },
  { call: 'set_attr vm 0 0xfff 0 0', kernel: EINVAL },
  { call: 'set_attr vm 0 0x1001 0 0', kernel: EINVAL },
  // valid: attribute 0 (shared) over any range, no memslot needed
  { call: 'set_attr vm 0 0x1000 0 0', kernel: '0' },
  { call: 'set_attr vm 0xc0000000 0x200000 0 0', kernel: '0' },
  { call: 'set_attr vm 0 0xfffffffffffff000 0 0', kernel: '0' },
  { call: 'set_attr vm 0xffffffffffffe000 0x1000 0 0', kernel: '0' },
];

/**
 * kvm_vcpu_pre_fault_memory() (virt/kvm/kvm_main.c) and the x86 hook
 * (arch/x86/kvm/mmu/mmu.c) on a default VM with TDP: slot 10 holds
 * (2 MiB + 4 KiB) at 0x40000000, as pre_fault_memory_test.c lays it out.
 */
export const PRE_FAULT_CALLS: readonly ExpectedCall[] = [
  { call: 'pre_fault cpu 0x40000000 0x200000 0', kernel: '0 gpa=0x40200000 size=0x0' },
  { call: 'pre_fault cpu 0x40200000 0x2000 0', kernel: '0 gpa=0x40201000 size=0x1000' },
  { call: 'pre_fault cpu 0x40201000 0x1000 0', kernel: '-1 ENOENT gpa=0x40201000 size=0x1000' },
  { call: 'pre_fault cpu 0x40000000 0x1000 0', kernel: '0 gpa=0x40001000 size=0x0' },
  { call: 'pre_fault cpu 0x80000000 0x1000 0', kernel: '-1 ENOENT gpa=0x80000000 size=0x1000' },
];

/** A valid range on a VM without memslots: kvm_arch_vcpu_pre_fault_memory() finds no slot. */
export const PRE_FAULT_NO_SLOT: ExpectedCall = { call: 'pre_fault cpu 0x40000000 0x1000 0', kernel: '-1 ENOENT gpa=0x40000000 size=0x1000' };

/** Pre-fault calls refused by the generic checks before the arch hook: the same on every x86 host. */
const PRE_FAULT_GENERIC = [
  'pre_fault cpu 0x40000000 0x1000 1',
  'pre_fault cpu 0x40000000 0x1000 0x8000000000000000',
  'pre_fault cpu 0x40000001 0x1000 0',
  'pre_fault cpu 0x40000000 0x1001 0',
  'pre_fault cpu 0x40000000 0 0',
  'pre_fault cpu 0xfffffffffffff000 0x1000 0',
  'pre_fault cpu 0xfffffffffffff000 0x2000 0',
];

export const attributeCases: DiffCase[] = [
  {
    name: 'set-attributes',
    script: script(prelude, 'check_ext vm 233', ATTRIBUTE_CALLS.map((c) => c.call)),
  },
  {
    name: 'set-attributes-other-fds',
    script: script(prelude, 'cpu = create_vcpu vm 0', `g = create_gmem vm 0x1000 0`,
      'set_attr kvm 0 0x1000 0 0', 'set_attr cpu 0 0x1000 0 0', 'set_attr g 0 0x1000 0 0', 'set_attr 999 0 0x1000 0 0'),
  },
  {
    name: 'pre-fault-no-slot',
    script: script(prelude, 'cpu = create_vcpu vm 0', PRE_FAULT_GENERIC, PRE_FAULT_NO_SLOT.call),
  },
  {
    name: 'pre-fault',
    script: script(
      prelude,
      'check_ext vm 236',
      'm = mmap_anon 0x201000',
      'set_region2 vm 10 0 0x40000000 0x201000 m 0 0',
      'cpu = create_vcpu vm 0',
      PRE_FAULT_GENERIC,
      PRE_FAULT_CALLS.map((c) => c.call),
      'pre_fault vm 0x40000000 0x1000 0',
      'pre_fault kvm 0x40000000 0x1000 0',
      'pre_fault 999 0x40000000 0x1000 0',
    ),
  },
];
