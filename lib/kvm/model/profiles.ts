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
 * - 6.19: guest_memfd keeps a shared NUMA policy per inode
 *   (virt/kvm/guest_memfd.c: kvm_gmem_set_policy()/kvm_gmem_get_policy(),
 *   the folio allocated with mpol_shared_policy_lookup() in
 *   kvm_gmem_get_folio()), which guest_memfd_test's mbind and
 *   numa_allocation subtests check.
 * - 7.4: 7.0's populate rules (kvm_gmem_populate() no longer tracks
 *   preparation, so no -EEXIST; sources must be 4K-aligned) and the in-place
 *   conversion series queued in kvm-x86 (v8 "guest_memfd: In-place
 *   conversion support", 2026-06-18; applied as v13, in linux-next
 *   2026-09-23): per-guest_memfd PRIVATE attributes set with the guest_memfd
 *   ioctl KVM_SET_MEMORY_ATTRIBUTES2, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES,
 *   INIT_SHARED for x86 CoCo VMs, and the read-only module parameter
 *   kvm.vm_memory_attributes (CONFIG_KVM_VM_MEMORY_ATTRIBUTES) that keeps the
 *   per-VM KVM_SET_MEMORY_ATTRIBUTES instead. Both modes are selectable, as
 *   the parameter is: `perGmemAttributes` says which one this model runs.
 */

import { GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP } from '../uapi.js';

export const KERNEL_NAMES = ['6.12', '6.18', '6.19', '7.4'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

/** kvm_gmem_populate()'s rules: 6.11 to 6.19 track preparation (-EEXIST), 7.0 does not and GUPs the source. */
export type PopulateRules = '6.11' | '7.0';

export interface KernelProfile {
  readonly name: KernelName;
  /** guest_memfd flags for a VM, by has_private_mem (per-VM attribute mode). */
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
  /** guest_memfd has a per-inode shared NUMA policy (mbind through a mapping, 6.19). */
  readonly gmemMempolicy: boolean;
  /** kvm_gmem_populate()'s rules for the SNP and TDX launch flows. */
  readonly populateRules: PopulateRules;
  /** The release has per-guest_memfd attributes at all (7.4): kvm.vm_memory_attributes can be N. */
  readonly perGmemAttributesSupported: boolean;
  /**
   * The mode this model runs: true = per-guest_memfd PRIVATE tracking
   * (kvm.vm_memory_attributes=N, gmem_in_place_conversion), false = per-VM
   * KVM_SET_MEMORY_ATTRIBUTES. Always false where unsupported.
   */
  readonly perGmemAttributes: boolean;
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
  /**
   * x86 capability answers that changed after 6.12 (caps.ts): KVM_CAP_ONE_REG
   * (x86 KVM_{GET,SET}_ONE_REG, 6.18), the x2APIC suppress-EOI-broadcast
   * flags of KVM_CAP_X2APIC_API (6.18.y), and KVM_CAP_X86_DISABLE_EXITS
   * refusing exits the host does not allow (kvm_get_allowed_disable_exits())
   * rather than any of KVM_X86_DISABLE_VALID_EXITS.
   */
  readonly x86OneReg: boolean;
  readonly x2apicSuppressEoiBroadcast: boolean;
  readonly disableExitsAllowedOnly: boolean;
}

const MMAP = GUEST_MEMFD_FLAG_MMAP;
const INIT_SHARED = GUEST_MEMFD_FLAG_INIT_SHARED;

const P618: KernelProfile = {
  name: '6.18',
  gmemFlags: { noPrivateMem: MMAP | INIT_SHARED, privateMem: MMAP },
  gmemFlagsSystem: MMAP | INIT_SHARED,
  hasGmemFlagsCap: true,
  capGuestMemfd: 'always',
  memslotGmemFlag: 'always',
  gmemOnlySlots: true,
  gmemMempolicy: false,
  populateRules: '6.11',
  perGmemAttributesSupported: false,
  perGmemAttributes: false,
  // Measured on a 6.18 host: bits 0..8 and 10.
  supportedQuirks: 0x5ff,
  absentVmTypes: 0,
  pseudoFsNoexec: true,
  x86OneReg: true,
  x2apicSuppressEoiBroadcast: true,
  disableExitsAllowedOnly: true,
};

/** The profiles as each release ships them; 7.4 in its per-guest_memfd default. */
export const PROFILES: Readonly<Record<KernelName, KernelProfile>> = {
  '6.12': {
    name: '6.12',
    gmemFlags: { noPrivateMem: 0n, privateMem: 0n },
    gmemFlagsSystem: 0n,
    hasGmemFlagsCap: false,
    capGuestMemfd: 'private-only',
    memslotGmemFlag: 'private-only',
    gmemOnlySlots: false,
    gmemMempolicy: false,
    populateRules: '6.11',
    perGmemAttributesSupported: false,
    perGmemAttributes: false,
    // Bits 0..8 and 10 (VMCS12_ALLOW_FREEZE_IN_SMM), as Debian's 6.12 with kvm_amd answers.
    supportedQuirks: 0x5ff,
    absentVmTypes: 1 << 5,
    pseudoFsNoexec: false,
    x86OneReg: false,
    x2apicSuppressEoiBroadcast: false,
    disableExitsAllowedOnly: false,
  },
  '6.18': P618,
  '6.19': { ...P618, name: '6.19', gmemMempolicy: true },
  '7.4': {
    ...P618,
    name: '7.4',
    gmemMempolicy: true,
    populateRules: '7.0',
    perGmemAttributesSupported: true,
    // CONFIG_KVM_VM_MEMORY_ATTRIBUTES is off unless selected ("If unsure, say N",
    // arch/x86/kvm/Kconfig of the series), so the parameter defaults to N.
    perGmemAttributes: true,
  },
};

export function isKernelName(s: string): s is KernelName {
  return (KERNEL_NAMES as readonly string[]).includes(s);
}

/**
 * The profile of `kernel` with kvm.vm_memory_attributes set as asked
 * (`undefined`: the release's default). Releases without per-guest_memfd
 * attributes ignore the parameter: per-VM tracking is all they have.
 */
export function kernelProfile(kernel: KernelName, vmMemoryAttributes?: boolean): KernelProfile {
  const p = PROFILES[kernel];
  if (!p.perGmemAttributesSupported || vmMemoryAttributes === undefined) return p;
  return { ...p, perGmemAttributes: !vmMemoryAttributes };
}

/** kvm_gmem_get_supported_flags() in per-guest_memfd mode: INIT_SHARED for every VM (kvm_arch_supports_gmem_init_shared()). */
export function gmemFlagsFor(p: KernelProfile, hasPrivateMem: boolean): bigint {
  if (p.perGmemAttributes) return MMAP | INIT_SHARED;
  return hasPrivateMem ? p.gmemFlags.privateMem : p.gmemFlags.noPrivateMem;
}
