/**
 * The SEV family's steps around a VM's creation, shared by SEV, SEV-ES and
 * SNP (their index.ts): the post-create KVM_SEV_INIT2 and the least SEV
 * launch for tests that bring no payload.
 */
import type { Backend, SysResult } from '../../lib/kvm/backend.js';
import { memoryEncryptOp, scratchArea } from '../../lib/platform/encrypt_op.js';
import { runSteps } from '../../lib/platform/launch_minimal.js';
import type { PlatformDefinition } from '../../lib/platform/types.js';
import {
  KVM_SEV_INIT2, KVM_SEV_LAUNCH_FINISH, KVM_SEV_LAUNCH_MEASURE, KVM_SEV_LAUNCH_START, SEV_MEASUREMENT_LEN, encodeSevCmd,
  encodeSevInit, encodeSevLaunchStart, encodeUaddrLen,
} from './uapi.js';

/** One KVM_MEMORY_ENCRYPT_OP(KVM_SEV_*) on the VM, its data in the scratch area. */
export const sevCmd = (b: Backend, vmFd: number, id: number, data: Uint8Array) => (): SysResult =>
  memoryEncryptOp(b, vmFd, (d) => encodeSevCmd({ id, data: d }), data);

/**
 * KVM_SEV_INIT2 with an empty struct before any vCPU exists:
 * __sev_guest_init() (arch/x86/kvm/svm/sev.c) refuses a VM that already
 * has vCPUs, so kvm_arch_vm_post_create() issues it for every SEV type.
 */
export const sevPostCreate: NonNullable<PlatformDefinition['postCreate']> = {
  command: 'KVM_SEV_INIT2',
  run: (b, vmFd) => sevCmd(b, vmFd, KVM_SEV_INIT2, encodeSevInit())(),
};

/** LAUNCH_START (policy: NODBG, plus ES for SEV-ES) through LAUNCH_FINISH, nothing encrypted. */
export function sevLaunchMinimal(es: boolean): NonNullable<PlatformDefinition['launchMinimal']> {
  return (b, vmFd) => {
    const out = scratchArea(b) + 0x8000n;
    return runSteps([
      sevCmd(b, vmFd, KVM_SEV_LAUNCH_START, encodeSevLaunchStart({ policy: es ? 5 : 1 })),
      sevCmd(b, vmFd, KVM_SEV_LAUNCH_MEASURE, encodeUaddrLen(out, SEV_MEASUREMENT_LEN)),
      sevCmd(b, vmFd, KVM_SEV_LAUNCH_FINISH, new Uint8Array(0)),
    ]);
  };
}
