/**
 * /dev/kvm, VM and vCPU level cases: capabilities (checklist 14, 15, 16, 19/20
 * system part, KVM_CAP_NR_MEMSLOTS), KVM_CREATE_VM types (13),
 * KVM_ENABLE_CAP (16), KVM_CREATE_VCPU ids, and the file calls on KVM fds.
 */

import type { DiffCase } from '../../../tools/kvm_probe/differential.js';
import { bits, hex, prelude, range, script } from './script.js';

/** The capabilities the model answers for (lib/kvm/uapi.ts), plus unknown ones and high-bit aliases. */
const CAPS = [10, 118, 136, 201, 231, 232, 233, 234, 235, 236, 244];
const ODD_CAPS = ['1000', '0x7fffffff', '-1', hex((1n << 32n) + 10n), hex((1n << 32n) + 235n), hex((1n << 63n) + 10n)];

export const systemCases: DiffCase[] = [
  {
    name: 'caps-system',
    script: script('kvm = open_kvm', [...CAPS.map(String), ...ODD_CAPS].map((c) => `check_ext kvm ${c}`)),
  },
  {
    name: 'caps-vm-default',
    script: script(prelude, [...CAPS.map(String), ...ODD_CAPS].map((c) => `check_ext vm ${c}`)),
  },
  {
    name: 'create-vm-types',
    script: script(
      'kvm = open_kvm',
      [...range(40).map(String), '0x7fffffff', '0x80000000', '0x100000000', '0x100000001', '-1'].map((t, i) => `v${i} = create_vm kvm ${t}`),
    ),
  },
  {
    name: 'enable-cap',
    script: script(
      prelude,
      'check_ext vm 201',
      bits(64).map((b) => `enable_cap vm 201 0 ${b}`),
      'enable_cap vm 201 0 0',
      'enable_cap vm 201 0 0x1000',
      'enable_cap vm 201 1 0x1000',
      'enable_cap vm 201 0x80000000 0x1000',
      'enable_cap vm 201 0 0x1001',
      'enable_cap vm 232 0 0',
      'enable_cap vm 232 0 1',
      'enable_cap vm 1000 0 0',
      'enable_cap kvm 201 0 0x1000',
      'cpu = create_vcpu vm 0',
      'enable_cap vm 201 0 0x1000',
      'enable_cap vm 201 0 0x800',
    ),
  },
  {
    name: 'vcpu-ids',
    script: script(
      prelude,
      'c0 = create_vcpu vm 0',
      'create_vcpu vm 0',
      'c1 = create_vcpu vm 1',
      'create_vcpu vm 4095',
      'create_vcpu vm 4096',
      'create_vcpu vm 0x7fffffff',
      'create_vcpu vm -1',
      'create_vcpu vm 0x100000000',
      'create_vcpu kvm 2',
      'close c1',
      'create_vcpu vm 1',
    ),
  },
  {
    name: 'kvm-fd-file-calls',
    script: script(
      prelude,
      'cpu = create_vcpu vm 0',
      ['kvm', 'vm', 'cpu'].flatMap((f) => [
        `fstat ${f}`,
        `read ${f} 8`, `write ${f} 8`, `pread ${f} 8 0`, `pwrite ${f} 8 0`, `pread ${f} 8 -1`,
        `lseek ${f} 0 0`, `lseek ${f} 8 1`, `lseek ${f} 0 2`, `lseek ${f} 0 5`,
        `ftruncate ${f} 0`, `fallocate ${f} 1 0 4096`, `fallocate ${f} 0 0 0`,
        `mmap ${f} 4096 0 3 1`, `mmap ${f} 4096 0 3 2`,
        `create_gmem ${f} 4096 0`,
        `check_ext ${f} 10`,
      ]),
      'mmap cpu 12288 0 3 1',
      'mmap cpu 4096 4096 3 1',
    ),
  },
  {
    name: 'plain-ioctls',
    script: script(
      prelude,
      'cpu = create_vcpu vm 0',
      'g = create_gmem vm 0x1000 0',
      'mfd = memfd',
      ['kvm', 'vm', 'cpu', 'g', 'mfd'].flatMap((f) => [
        `ioctl ${f} 0xae00 0`, `ioctl ${f} 0xae00 1`, `ioctl ${f} 0xae04 0`, `ioctl ${f} 0xae04 1`,
        `ioctl ${f} 0xaeff 0`, `ioctl ${f} 0xae7f 0`, `ioctl ${f} 0x1234 0`,
      ]),
      'm = mmap cpu 0x4000 0 3 1', 'peek m+8', 'peek m+0x1000', 'peek m+0x2000', 'peek m+0x3000',
    ),
  },
  {
    name: 'fd-lifetimes',
    script: script(
      prelude,
      'close kvm',
      'check_ext vm 244', 'cpu = create_vcpu vm 0', 'g = create_gmem vm 0x2000 3',
      'vm2 = create_vm kvm 0',
      'close vm',
      'check_ext cpu 10', 'ioctl cpu 0xae04 0', 'fstat cpu', 'fallocate g 3 0 0x1000', 'fstat g',
      'set_region2 vm 0 4 0 0x1000 0 0 g',
      'close cpu', 'close g', 'close cpu',
      'kvm2 = open_kvm', 'vm3 = create_vm kvm2 0', 'create_gmem vm3 0x1000 3',
    ),
  },
  {
    name: 'memfd-and-bad-fds',
    script: script(
      prelude,
      'mfd = memfd',
      'fstat mfd', 'ftruncate mfd 8192', 'fstat mfd', 'write mfd 100', 'lseek mfd 0 1', 'pread mfd 16 8000', 'pread mfd 16 8192',
      'lseek mfd 0 3', 'lseek mfd 9000 3', 'lseek mfd 0 4', 'fallocate mfd 0 0 4096', 'fallocate mfd 3 0 4096', 'fallocate mfd 0x40 0 4096',
      'check_ext mfd 10', 'create_gmem mfd 4096 0',
      'd = dup vm', 'check_ext d 244', 'close d', 'close d', 'check_ext d 244',
      'fstat 999', 'read 999 8', 'pread 999 8 0', 'pread 999 8 -1', 'lseek 999 0 0', 'lseek 999 0 9', 'ftruncate 999 -1',
      'fallocate 999 0 0 4096', 'fallocate 999 0 -1 4096', 'check_ext 999 10', 'close 999', 'close -1', 'mmap 999 4096 0 3 1',
    ),
  },
];
