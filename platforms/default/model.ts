/**
 * x86 KVM_X86_DEFAULT_VM in the model: no private memory, every access is
 * shared (arch/x86/kvm/mmu/mmu.c: fault->is_private stays false without
 * kvm_arch_has_private_mem()).
 */
import type { PlatformModel } from '../../lib/platform/types.js';

export const defaultModel: PlatformModel = {
  preFault: true,
  attach: () => ({ isPrivateAccess: () => false }),
};
