/**
 * The model backend: a simulated /dev/kvm.
 *
 *   const b = createModelBackend({ kernel: '6.18' });
 *   modelSetGuestProgram(b, vcpuFd, program);   // instead of loading guest code
 *   registerModelPlatform(KVM_X86_TDX_VM, tdx);  // platform plugins
 *
 * Ucall rule shared with kvm_util: for every ucall the model writes the
 * struct ucall at the GPA `program.ucallGpa` (else defaultUcallGpa(vcpuId)),
 * through the *shared* backing of the slot covering it (its userspace_addr,
 * or the guest_memfd of a GMEM_ONLY slot), and reports that GPA in RDI.
 * kvm_util's getUcall() does KVM_GET_REGS and reads the struct through
 * addr_gpa2hva(RDI).
 */

import type { Backend, SysResult } from '../backend.js';
import { EINVAL } from '../errno.js';
import type { GuestProgram } from '../../guest/program.js';
import { ModelBackend, type ModelOptions } from './model_backend.js';

export { ModelBackend, type ModelOptions } from './model_backend.js';
export { defaultUcallGpa } from './vcpu.js';
export { KVM_EXIT_INTR, KVM_INTERNAL_ERROR_EMULATION } from './exits.js';
export { PROFILES, type KernelName, type KernelProfile } from './profiles.js';
export * from './platform.js';
export {
  defaultPlatform, swProtectedPlatform, sevPlatform, sevEsPlatform, snpPlatform, tdxPlatform,
} from './builtin_platforms.js';

export function createModelBackend(opts: ModelOptions = {}): ModelBackend {
  return new ModelBackend(opts);
}

export function isModelBackend(b: Backend): b is ModelBackend {
  return b instanceof ModelBackend;
}

/**
 * Attach a guest program to a vCPU (the model's replacement for guest code
 * and RIP). -1/EBADF for a bad fd, -1/EINVAL for a non-vCPU fd or a backend
 * that is not the model.
 */
export function modelSetGuestProgram(backend: Backend, vcpuFd: number, program: GuestProgram): SysResult {
  if (!(backend instanceof ModelBackend)) return { ret: -1, errno: EINVAL };
  return backend.setGuestProgram(vcpuFd, program);
}
