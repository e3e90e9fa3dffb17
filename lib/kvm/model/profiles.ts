/**
 * Kernel release profiles: everything the model does differently between
 * releases, as data. Code asks the profile; it never tests the release name.
 *
 * - 6.12: guest_memfd without flags; KVM_MEM_GUEST_MEMFD only for VMs with
 *   private memory (virt/kvm/kvm_main.c, check_memory_region_flags():
 *   kvm_arch_has_private_mem()); KVM_CAP_GUEST_MEMFD = !kvm || has_private_mem.
 * - 6.18: GUEST_MEMFD_FLAG_MMAP / INIT_SHARED (virt/kvm/guest_memfd.c,
 *   kvm_gmem_get_supported_flags()): INIT_SHARED only when
 *   kvm_arch_supports_gmem_init_shared() (x86: !has_private_mem);
 *   KVM_CAP_GUEST_MEMFD_FLAGS (244); a slot bound to an mmap-able gmem is
 *   KVM_MEMSLOT_GMEM_ONLY.
 * - inplace: 6.18 plus the posted in-place conversion series (per-gmem
 *   attributes, KVM_SET_MEMORY_ATTRIBUTES2 with ZERO/PRESERVE content modes;
 *   INIT_SHARED legal for private-memory VMs; private pages stay mmap-able but
 *   fault with SIGBUS).
 */

import { GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP } from '../uapi.js';

export type KernelName = '6.12' | '6.18' | 'inplace';

export interface KernelProfile {
  readonly name: KernelName;
  /** guest_memfd flags for a VM, by has_private_mem. */
  readonly gmemFlags: { readonly noPrivateMem: bigint; readonly privateMem: bigint };
  /** KVM_CAP_GUEST_MEMFD_FLAGS on /dev/kvm (0 when the cap does not exist). */
  readonly gmemFlagsSystem: bigint;
  /** Whether KVM_CAP_GUEST_MEMFD_FLAGS exists (244). */
  readonly hasGmemFlagsCap: boolean;
  /** KVM_CAP_GUEST_MEMFD: 'private-only' = !kvm || has_private_mem (6.12); 'always' = 1. */
  readonly capGuestMemfd: 'private-only' | 'always';
  /** KVM_MEM_GUEST_MEMFD accepted: 'private-only' (6.12) or on every VM (6.18). */
  readonly memslotGmemFlag: 'private-only' | 'always';
  /** A slot bound to an mmap-able gmem serves every fault from the gmem (KVM_MEMSLOT_GMEM_ONLY). */
  readonly gmemOnlySlots: boolean;
  /** [P] per-gmem attributes and KVM_SET_MEMORY_ATTRIBUTES2. */
  readonly inPlace: boolean;
  /**
   * KVM_CAP_DISABLE_QUIRKS2: kvm_caps.supported_quirks (arch/x86/kvm/x86.c),
   * KVM_X86_VALID_QUIRKS of the release less what the vendor module drops
   * (SVM: IGNORE_GUEST_PAT).
   */
  readonly supportedQuirks: number;
  /**
   * Upstream x86 VM types the release does not have yet (BIT(type)):
   * kvm_caps.supported_vm_types never offers them and KVM_CREATE_VM refuses
   * them. TDX (5) arrived in 6.16. A user plugin's own type is not affected.
   */
  readonly absentVmTypes: number;
  /**
   * VM/vCPU anon inodes and guest_memfd inodes live on SB_I_NOEXEC
   * filesystems, so path_noexec() refuses a PROT_EXEC mapping (EPERM): the
   * anon_inode filesystem is noexec since 6.14, guest_memfd has its own
   * noexec pseudo filesystem since it gained one for NUMA policy. On 6.12 a
   * vCPU's kvm_run maps with PROT_EXEC.
   */
  readonly pseudoFsNoexec: boolean;
}

const MMAP = GUEST_MEMFD_FLAG_MMAP;
const INIT_SHARED = GUEST_MEMFD_FLAG_INIT_SHARED;

export const PROFILES: Readonly<Record<KernelName, KernelProfile>> = {
  '6.12': {
    name: '6.12',
    gmemFlags: { noPrivateMem: 0n, privateMem: 0n },
    gmemFlagsSystem: 0n,
    hasGmemFlagsCap: false,
    capGuestMemfd: 'private-only',
    memslotGmemFlag: 'private-only',
    gmemOnlySlots: false,
    inPlace: false,
    // Bits 0..8 and 10 (VMCS12_ALLOW_FREEZE_IN_SMM), as Debian's 6.12 with kvm_amd answers.
    supportedQuirks: 0x5ff,
    absentVmTypes: 1 << 5,
    pseudoFsNoexec: false,
  },
  '6.18': {
    name: '6.18',
    gmemFlags: { noPrivateMem: MMAP | INIT_SHARED, privateMem: MMAP },
    gmemFlagsSystem: MMAP | INIT_SHARED,
    hasGmemFlagsCap: true,
    capGuestMemfd: 'always',
    memslotGmemFlag: 'always',
    gmemOnlySlots: true,
    inPlace: false,
    // Measured on a 6.18 host: bits 0..8 and 10.
    supportedQuirks: 0x5ff,
    absentVmTypes: 0,
    pseudoFsNoexec: true,
  },
  inplace: {
    name: 'inplace',
    gmemFlags: { noPrivateMem: MMAP | INIT_SHARED, privateMem: MMAP | INIT_SHARED },
    gmemFlagsSystem: MMAP | INIT_SHARED,
    hasGmemFlagsCap: true,
    capGuestMemfd: 'always',
    memslotGmemFlag: 'always',
    gmemOnlySlots: true,
    inPlace: true,
    supportedQuirks: 0x5ff,
    absentVmTypes: 0,
    pseudoFsNoexec: true,
  },
};

export function isKernelName(s: string): s is KernelName {
  return s === '6.12' || s === '6.18' || s === 'inplace';
}
