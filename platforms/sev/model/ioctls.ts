/**
 * KVM_MEMORY_ENCRYPT_OP as arch/x86/kvm/svm/sev.c sev_mem_enc_ioctl()
 * routes it: on an SEV or SEV-ES VM to the launch commands
 * (launch_ioctls.ts) once INIT2 made it an SEV guest, and on an x86 VM of
 * another type to the refusals of a VM that is no SEV guest.
 */
import type { IoctlArg, SysResult } from '../../../lib/kvm/backend.js';
import { EFAULT, EINVAL, ENOTTY } from '../../../lib/kvm/errno.js';
import type { PlatformVm, PlatformVmContext } from '../../../lib/kvm/model/platform.js';
import { KVM_MEMORY_ENCRYPT_OP, KVM_X86_DEFAULT_VM } from '../../../lib/kvm/uapi.js';
import { dispatchSevOp } from '../encrypt_op.js';
import { KVM_SEV_ES_INIT, KVM_SEV_INIT, KVM_SEV_INIT2 } from '../uapi.js';
import { sevLaunchHandlers } from './launch_ioctls.js';
import type { SevVm } from './state.js';

/** The commands sev_mem_enc_ioctl() takes on a VM that is not an SEV guest yet. */
const INIT_COMMANDS: ReadonlySet<number> = new Set([KVM_SEV_INIT, KVM_SEV_ES_INIT, KVM_SEV_INIT2]);

export function sevVmIoctl(vm: SevVm): Required<Pick<PlatformVm, 'vmIoctl'>> {
  const handlers = sevLaunchHandlers(vm);
  return {
    vmIoctl(request, arg): SysResult | undefined {
      if (request !== KVM_MEMORY_ENCRYPT_OP) return undefined;
      // Before INIT2 the VM is no SEV guest: every command but the INIT
      // ones is -ENOTTY (sev_launch_start() and the rest: !sev_guest()).
      if (vm.launch.state === 'uninit' && arg instanceof Uint8Array && arg.length >= 4
        && !INIT_COMMANDS.has(new DataView(arg.buffer, arg.byteOffset).getUint32(0, true))) {
        return { ret: -1, errno: ENOTTY };
      }
      return dispatchSevOp(vm.ctx, arg, handlers);
    },
  };
}

/**
 * SVM's KVM_MEMORY_ENCRYPT_OP on an x86 VM of another type: KVM_SEV_INIT2
 * is refused by sev_guest_init2() with -EINVAL (the VM type is not
 * SEV/SEV-ES), everything else is -ENOTTY because the VM is not an SEV
 * guest (sev_init2_tests). The legacy KVM_SEV_INIT / KVM_SEV_ES_INIT
 * (sev_guest_init()) take only a KVM_X86_DEFAULT_VM, and
 * __sev_guest_init() refuses one that already has vCPUs: -EINVAL in both
 * cases. Turning a default VM without vCPUs into an SEV guest is not
 * modelled; that request stays -ENOTTY.
 */
export function sevForeignVmIoctl(ctx: PlatformVmContext, request: number, arg: IoctlArg | undefined): SysResult | undefined {
  if (request !== KVM_MEMORY_ENCRYPT_OP || ctx.vmType >= 32) return undefined;
  if (!(arg instanceof Uint8Array) || arg.length < 4) return { ret: -1, errno: EFAULT };
  const id = new DataView(arg.buffer, arg.byteOffset).getUint32(0, true);
  if (id === KVM_SEV_INIT || id === KVM_SEV_ES_INIT) {
    return { ret: -1, errno: ctx.vmType !== KVM_X86_DEFAULT_VM || ctx.nrVcpus > 0 ? EINVAL : ENOTTY };
  }
  return { ret: -1, errno: id === KVM_SEV_INIT2 ? EINVAL : ENOTTY };
}
