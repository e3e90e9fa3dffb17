/**
 * The model backend: a simulated /dev/kvm.
 *
 *   const b = createModelBackend({ kernel: '6.18' });
 *   b.setGuestProgram(vcpuFd, program);          // instead of loading guest code
 *   b.registerPlatform(type, platform);          // a platform for one backend
 *
 * The VM types a backend accepts are the platforms registered with
 * registerModelPlatformSource() (lib/kvm_util/platform_types.ts registers
 * platforms/index.ts) or registerModelPlatform(); none by itself.
 *
 * Ucall rule shared with kvm_util: for every ucall the model writes the
 * struct ucall at the GPA `program.ucallGpa` (else defaultUcallGpa(vcpuId)),
 * through the *shared* backing of the slot covering it (its userspace_addr,
 * or the guest_memfd of a GMEM_ONLY slot), and reports that GPA in RDI.
 * kvm_util's getUcall() does KVM_GET_REGS and reads the struct through
 * addr_gpa2hva(RDI).
 */

import type { Backend } from '../backend.js';
import { ModelBackend, type ModelOptions } from './model_backend.js';

export { ModelBackend, type ModelOptions } from './model_backend.js';
export type { ModelControl } from './control.js';
export { defaultUcallGpa } from './vcpu.js';
export { KVM_EXIT_INTR, KVM_INTERNAL_ERROR_EMULATION } from './exits.js';
export { KERNEL_NAMES, PROFILES, kernelProfile, type KernelName, type KernelProfile } from './profiles.js';
export * from './platform.js';

export function createModelBackend(opts: ModelOptions = {}): ModelBackend {
  return new ModelBackend(opts);
}

export function isModelBackend(b: Backend): b is ModelBackend {
  return b instanceof ModelBackend;
}

