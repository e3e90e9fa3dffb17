/**
 * x86 KVM_X86_DEFAULT_VM in the model: no private memory, every access is
 * shared (arch/x86/kvm/mmu/mmu.c: fault->is_private stays false without
 * kvm_arch_has_private_mem()).
 */
import type { ModelPlatform } from '../../lib/kvm/model/platform.js';

export const defaultModel: ModelPlatform = {
  name: 'default',
  hasPrivateMem: false,
  preFault: true,
  attach: () => ({ isPrivateAccess: () => false }),
};
