/**
 * SEV and SEV-ES inside the model (reference/platforms.md §2.2, §2.3),
 * assembled from model/ the way arch/x86/kvm/svm/sev.c divides it:
 *
 * - No private memory for KVM (`has_private_mem = false`, svm_vm_init()):
 *   every access is "shared" to the fault path, attributes are refused by
 *   common code, and nothing ever exits MEMORY_FAULT.
 * - The C-bit is the guest's (model/guest_ops.ts): a C=1 store lands as
 *   ciphertext in the very page the VMM mapped (same HPA, two views), a C=1
 *   load decrypts whatever is there. So host reads see ciphertext, host
 *   writes decrypt to garbage, and a C=0 read of encrypted memory returns
 *   ciphertext — all without a fault (§2.2 c).
 * - The launch (model/launch_ioctls.ts) encrypts in place at the VMM's HVA
 *   (LAUNCH_UPDATE_DATA), and those pages are mapped C=1 by the guest
 *   afterwards.
 */
import type { PlatformVm, PlatformVmContext } from '../../lib/kvm/model/platform.js';
import type { PlatformModel } from '../../lib/platform/types.js';
import type { SevHardware } from './hardware.js';
import { sevGuestOps } from './model/guest_ops.js';
import { sevForeignVmIoctl, sevVmIoctl } from './model/ioctls.js';
import { SevVm, registerSevVm } from './model/state.js';
import { KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES } from './uapi.js';

export { sevVmState, type SevVmState } from './model/state.js';
export { sevVmsaImage } from './model/vmsa.js';

/**
 * `hw.vmsaFeatures` is sev_supported_vmsa_features [H]: the VMSA features
 * KVM_SEV_INIT2 accepts for SEV-ES (and KVM_X86_SEV_VMSA_FEATURES reports).
 */
export function createSevModel(name: 'sev' | 'sev_es', hw: SevHardware): PlatformModel {
  const es = name === 'sev_es';
  const vmsaFeatures = BigInt(hw.vmsaFeatures);
  return {
    hasProtectedState: name === 'sev_es',
    preFault: false,
    foreignVmIoctl: sevForeignVmIoctl,
    /**
     * sev_dev_get_attr(): KVM_X86_SEV_VMSA_FEATURES is
     * sev_supported_vmsa_features, which stays 0 without SEV-ES.
     */
    devAttr(group, attr) {
      if (group !== KVM_X86_GRP_SEV || attr !== KVM_X86_SEV_VMSA_FEATURES) return undefined;
      return es ? vmsaFeatures : 0n;
    },
    attach(ctx: PlatformVmContext): PlatformVm {
      const vm = new SevVm(ctx, es, hw);
      registerSevVm(vm);
      return {
        isPrivateAccess: () => false,
        ...sevGuestOps(vm),
        ...sevVmIoctl(vm),
      };
    },
  };
}
