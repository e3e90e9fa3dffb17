/**
 * KVM_MEMORY_ENCRYPT_OP on an SNP VM (arch/x86/kvm/svm/sev.c
 * sev_mem_enc_ioctl()): KVM_SEV_INIT2 (__sev_guest_init()),
 * snp_launch_start(), snp_launch_update() (launch_update.ts) and
 * snp_launch_finish(), plus the model's own commands (model_control.ts).
 */
import type { SysResult } from '../../../lib/kvm/backend.js';
import { EFAULT, EINVAL, ENOTTY, EPERM } from '../../../lib/kvm/errno.js';
import type { PlatformVm } from '../../../lib/kvm/model/platform.js';
import { KVM_MEMORY_ENCRYPT_OP } from '../../../lib/kvm/uapi.js';
import { dispatchSevOp, type SevOpHandler } from '../../sev/encrypt_op.js';
import { sevVmsaImage } from '../../sev/model/vmsa.js';
import {
  KVM_SEV_INIT2, KVM_SEV_SNP_LAUNCH_FINISH, KVM_SEV_SNP_LAUNCH_START, KVM_SEV_SNP_LAUNCH_UPDATE, SIZEOF_KVM_SEV_INIT, decodeSevInit,
} from '../../sev/uapi.js';
import { SIZEOF_KVM_SEV_SNP_LAUNCH_START } from '../uapi.js';
import { snpLaunchUpdate } from './launch_update.js';
import { snpModelControl } from './model_control.js';
import type { SnpVmState } from './state.js';

function snpLaunchHandlers(vm: SnpVmState): Record<number, SevOpHandler> {
  const { ctx, launch } = vm;
  return {
    [KVM_SEV_INIT2]: (op) => {
      const b = op.readData(SIZEOF_KVM_SEV_INIT);
      if (!b) return { errno: EFAULT };
      const p = decodeSevInit(b);
      // __sev_guest_init(): never once vCPUs exist (kvm->created_vcpus),
      // then as for SEV-ES, vmsa_features within sev_supported_vmsa_features.
      // A second INIT2 does not get here: the dispatch answers it -EPERM.
      if (ctx.nrVcpus > 0) return { errno: EINVAL };
      if (p.flags !== 0 || (p.vmsaFeatures & ~vm.vmsaFeatures) !== 0n || p.ghcbVersion > 2) return { errno: EINVAL };
      vm.inited = true;
      return { errno: 0 };
    },
    [KVM_SEV_SNP_LAUNCH_START]: (op) => {
      // snp_launch_start(): not an SNP guest until INIT2 → -ENOTTY, before the copy-in.
      if (!vm.inited) return { errno: ENOTTY };
      const b = op.readData(SIZEOF_KVM_SEV_SNP_LAUNCH_START);
      if (!b) return { errno: EFAULT };
      // One SNP context per VM (sev->snp_context already set → -EINVAL,
      // without a firmware call), also after finish.
      return launch.start(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)) ? { errno: 0 } : { errno: EINVAL };
    },
    [KVM_SEV_SNP_LAUNCH_UPDATE]: snpLaunchUpdate(vm),
    [KVM_SEV_SNP_LAUNCH_FINISH]: () =>
      launch.finish(Array.from({ length: ctx.nrVcpus }, (_, i) => sevVmsaImage(i))) ? { errno: 0 } : { errno: EINVAL },
  };
}

export function snpVmIoctl(vm: SnpVmState): Required<Pick<PlatformVm, 'vmIoctl'>> {
  const handlers: Record<number, SevOpHandler> = { ...snpLaunchHandlers(vm), ...snpModelControl(vm) };
  return {
    vmIoctl(request, arg): SysResult | undefined {
      if (request !== KVM_MEMORY_ENCRYPT_OP) return undefined;
      // Once INIT2 made the VM an SNP guest, only the SNP commands are
      // allowed (ids below KVM_SEV_SNP_LAUNCH_START → -EPERM, INIT2 itself
      // included).
      if (vm.inited && arg instanceof Uint8Array && arg.length >= 4
        && new DataView(arg.buffer, arg.byteOffset).getUint32(0, true) < KVM_SEV_SNP_LAUNCH_START) {
        return { ret: -1, errno: EPERM };
      }
      return dispatchSevOp(vm.ctx, arg, handlers);
    },
  };
}
