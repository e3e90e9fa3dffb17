/**
 * KVM_X86_SW_PROTECTED_VM in the model: the attribute is the source of
 * truth; kvm_mmu_page_fault() sets PFERR_PRIVATE_ACCESS from
 * kvm_mem_is_private(), so an access never mismatches. In-place conversion
 * (7.4) keeps a page's bytes: SW_PROTECTED has no kvm_arch_gmem_invalidate().
 */
import type { GuestAccess } from '../../lib/kvm/model/platform.js';
import type { PlatformModel } from '../../lib/platform/types.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../../lib/kvm/uapi.js';

export const swProtectedModel: PlatformModel = {
  preFault: true,
  attach: (ctx) => ({ isPrivateAccess: (a: GuestAccess) => (ctx.attributes(a.gpa) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0n }),
};
