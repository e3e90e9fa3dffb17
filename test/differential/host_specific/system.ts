/**
 * Where a measured machine's /dev/kvm legitimately differs from the model
 * (with the profile of its kernel) in the system cases.
 *
 * `pvm`: this project's machine kind, a 6.18 kernel. The host is PVM (kvm_pvm: shadow paging, no
 * SVM/VMX), offers only the default VM type, answers like a kernel without
 * CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES and without CONFIG_KVM_SMM; the model
 * describes a 6.18 x86 host with TDP, SMM and every VM type the project's
 * platforms need. Entries apply only on a host of the named kind
 * (tools/kvm_probe/real_runner.ts, hostKvmKind()).
 */

import type { HostSpecific } from '../../../tools/kvm_probe/compare.js';

const PVM = 'pvm';
/**
 * `amd`: Debian's 6.12 kernel under QEMU TCG (make vm_check, tools/vm), with
 * kvm_amd on QEMU's emulated SVM and NPT but no SEV firmware (no PSP).
 */
const VM612 = 'amd';
const NO_SEV_WHY = 'the SEV types need the PSP firmware (sev_hardware_setup(), arch/x86/kvm/svm/sev.c); QEMU\'s emulated SVM has none, so kvm_caps.supported_vm_types is DEFAULT and SW_PROTECTED only';
const DEV_NODE_WHY = 'the /dev/kvm node\'s permissions come from the host\'s device setup (udev normally makes it 0666; a devtmpfs node without udev is 0600), not from KVM';

/** The model offers DEFAULT, SW_PROTECTED, SEV, SEV-ES, SNP and TDX (bits 0..5). */
const VM_TYPES_WHY = 'kvm_caps.supported_vm_types (arch/x86/kvm/x86.c): the PVM host offers only KVM_X86_DEFAULT_VM; SW_PROTECTED needs CONFIG_KVM_SW_PROTECTED_VM and the TDP MMU (PVM uses shadow paging), SEV/SNP/TDX need the hardware';
const ATTR_WHY = 'KVM_CAP_MEMORY_ATTRIBUTES exists only with CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES (virt/kvm/kvm_main.c), which x86 selects for SW_PROTECTED/SEV/TDX; the host has none of them';
export const SMM_WHY = 'KVM_MAX_NR_ADDRESS_SPACES is 2 only with CONFIG_KVM_SMM (arch/x86/include/asm/kvm_host.h); the host is built without SMM (KVM_CAP_X86_SMM is 0 too), so KVM_CAP_MULTI_ADDRESS_SPACE is unanswered (0) and memslot as_id 1 is EINVAL';
const PRE_FAULT_WHY = 'x86 answers KVM_CAP_PRE_FAULT_MEMORY with tdp_enabled (arch/x86/kvm/x86.c); PVM runs on shadow paging';

export const systemHostSpecific: HostSpecific[] = [
  { host: PVM, caseName: 'caps-system', call: 'check_ext kvm 118', real: '0', model: '2', why: SMM_WHY },
  { host: PVM, caseName: 'caps-vm-default', call: 'check_ext vm 118', real: '0', model: '2', why: SMM_WHY },
  { host: PVM, caseName: 'caps-system', call: 'check_ext kvm 233', real: '0', model: '8', why: ATTR_WHY },
  { host: PVM, caseName: 'caps-system', call: 'check_ext kvm 235', real: '1', model: '63', why: VM_TYPES_WHY },
  { host: PVM, caseName: 'caps-system', call: 'check_ext kvm 236', real: '0', model: '1', why: PRE_FAULT_WHY },
  { host: PVM, caseName: 'caps-vm-default', call: 'check_ext vm 235', real: '1', model: '63', why: VM_TYPES_WHY },
  { host: PVM, caseName: 'caps-vm-default', call: 'check_ext vm 236', real: '0', model: '1', why: PRE_FAULT_WHY },
  { host: PVM, caseName: 'create-vm-types', call: /^create_vm kvm [1-5]$/, real: '-1 EINVAL', model: 'fd', why: VM_TYPES_WHY },
  {
    host: PVM, caseName: 'vcpu-ids', call: 'create_vcpu vm 4096', real: '-1 EINVAL', model: 'fd',
    why: 'KVM_MAX_VCPU_IDS is KVM_MAX_VCPUS * 4 (arch/x86/include/asm/kvm_host.h): 4096 on the host (CONFIG_KVM_MAX_NR_VCPUS=1024), 16384 on the modelled distribution config (MAXSMP, 4096 vCPUs)',
  },
  {
    host: PVM, caseName: 'kvm-fd-file-calls', call: 'fstat kvm',
    real: '0 size=0 blksize=4096 mode=020600 ino#0', model: '0 size=0 blksize=4096 mode=020666 ino#0', why: DEV_NODE_WHY,
  },
  // The 6.12 profile offers DEFAULT, SW_PROTECTED, SEV, SEV-ES and SNP (0x1f): TDX came in 6.16.
  { host: VM612, caseName: 'caps-system', call: 'check_ext kvm 235', real: '3', model: '31', why: NO_SEV_WHY },
  { host: VM612, caseName: 'caps-vm-default', call: 'check_ext vm 235', real: '3', model: '31', why: NO_SEV_WHY },
  { host: VM612, caseName: 'create-vm-types', call: /^create_vm kvm [2-4]$/, real: '-1 EINVAL', model: 'fd', why: NO_SEV_WHY },
  {
    host: VM612, caseName: 'vcpu-ids', call: 'create_vcpu vm 4096', real: '-1 EINVAL', model: 'fd',
    why: 'KVM_MAX_VCPU_IDS is KVM_MAX_VCPUS * 4 (arch/x86/include/asm/kvm_host.h): 4096 in the VM\'s kernel (1024 vCPUs: tinyconfig and the fragment, no CONFIG_MAXSMP), 16384 on the modelled distribution config (MAXSMP, 4096 vCPUs)',
  },
  {
    host: VM612, caseName: 'kvm-fd-file-calls', call: 'fstat kvm',
    real: '0 size=0 blksize=4096 mode=020600 ino#0', model: '0 size=0 blksize=4096 mode=020666 ino#0', why: DEV_NODE_WHY,
  },
];
