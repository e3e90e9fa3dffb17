/**
 * The built-in platforms, expressed through the same seam as plugins
 * (platform.ts). DEFAULT and SW_PROTECTED are complete; SEV, SEV-ES, SNP and
 * TDX carry only the traits common code needs (has_private_mem, gmem flags,
 * pre-fault refused before finalise) and are meant to be replaced by the
 * platform plugins.
 */

import {
  KVM_X86_DEFAULT_VM, KVM_X86_SEV_ES_VM, KVM_X86_SEV_VM, KVM_X86_SNP_VM, KVM_X86_SW_PROTECTED_VM, KVM_X86_TDX_VM,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
} from '../uapi.js';
import type { ModelPlatform, PlatformRegistry, PlatformVmContext, GuestAccess } from './platform.js';

const isPrivateAttr = (ctx: PlatformVmContext, gpa: bigint): boolean =>
  (ctx.attributes(gpa) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0n;

/**
 * x86 KVM_X86_DEFAULT_VM: no private memory, every access is shared
 * (arch/x86/kvm/mmu/mmu.c: fault->is_private stays false without
 * kvm_arch_has_private_mem()).
 */
export const defaultPlatform: ModelPlatform = {
  name: 'default',
  hasPrivateMem: false,
  preFault: true,
  attach: () => ({ isPrivateAccess: () => false }),
};

/**
 * KVM_X86_SW_PROTECTED_VM: the attribute is the source of truth;
 * kvm_mmu_page_fault() sets PFERR_PRIVATE_ACCESS from kvm_mem_is_private(),
 * so an access never mismatches. In-place conversion (7.4) keeps a page's
 * bytes: SW_PROTECTED has no kvm_arch_gmem_invalidate().
 */
export const swProtectedPlatform: ModelPlatform = {
  name: 'sw_protected',
  hasPrivateMem: true,
  preFault: true,
  attach: (ctx) => ({ isPrivateAccess: (a: GuestAccess) => isPrivateAttr(ctx, a.gpa) }),
};

/**
 * Marker-based private-ness for the bit-based CoCo types (TDX shared bit,
 * SNP C-bit): an explicit view wins; 'auto' follows the guest's page tables,
 * which the minimal built-in assumes track the attribute.
 */
const markerAccess = (ctx: PlatformVmContext) => (a: GuestAccess): boolean =>
  a.view === 'private' ? true : a.view === 'shared' ? false : isPrivateAttr(ctx, a.gpa);

/** SEV / SEV-ES: has_private_mem = false (arch/x86/kvm/svm/svm.c, svm_vm_init()). */
export const sevPlatform: ModelPlatform = {
  name: 'sev',
  hasPrivateMem: false,
  preFault: false,
  attach: () => ({ isPrivateAccess: () => false }),
};
export const sevEsPlatform: ModelPlatform = { ...sevPlatform, name: 'sev_es', hasProtectedState: true };

/** SNP: private memory through guest_memfd; KVM_PRE_FAULT_MEMORY refused before launch. */
export const snpPlatform: ModelPlatform = {
  name: 'snp',
  hasPrivateMem: true,
  hasProtectedState: true,
  preFault: false,
  attach: (ctx) => ({ isPrivateAccess: markerAccess(ctx) }),
};

/** TDX: private memory through guest_memfd; KVM_PRE_FAULT_MEMORY refused before finalise. */
export const tdxPlatform: ModelPlatform = { ...snpPlatform, name: 'tdx' };

export function registerBuiltinPlatforms(reg: PlatformRegistry): void {
  reg.register(KVM_X86_DEFAULT_VM, defaultPlatform);
  reg.register(KVM_X86_SW_PROTECTED_VM, swProtectedPlatform);
  reg.register(KVM_X86_SEV_VM, sevPlatform);
  reg.register(KVM_X86_SEV_ES_VM, sevEsPlatform);
  reg.register(KVM_X86_SNP_VM, snpPlatform);
  reg.register(KVM_X86_TDX_VM, tdxPlatform);
}
