/**
 * KVM_MEMORY_ENCRYPT_OP on a TD's VM fd (arch/x86/kvm/vmx/tdx.c
 * tdx_vm_ioctl()): KVM_TDX_INIT_VM (tdx_td_init(), TDH.MNG.INIT) and
 * KVM_TDX_FINALIZE_VM (tdx_td_finalize(), TDH.MR.FINALIZE); the model's
 * own commands (model_control.ts) share the command space.
 */
import { err, ok, type IoctlArg, type SysResult } from '../../../lib/kvm/backend.js';
import { E2BIG, EFAULT, EINVAL } from '../../../lib/kvm/errno.js';
import type { PlatformVm } from '../../../lib/kvm/model/platform.js';
import { KVM_MEMORY_ENCRYPT_OP } from '../../../lib/kvm/uapi.js';
import { isHostFault, u32 } from '../../../lib/platform/common.js';
import {
  KVM_MAX_CPUID_ENTRIES, KVM_TDX_FINALIZE_VM, KVM_TDX_INIT_VM, SIZEOF_KVM_TDX_CMD, SIZEOF_KVM_TDX_INIT_VM, decodeCpuidEntries, decodeTdxCmd,
} from '../uapi.js';
import { tdxModelControl } from './model_control.js';
import type { TdxVm } from './state.js';

/** The struct kvm_tdx_cmd both the VM and the vCPU ioctls copy in (tdx_get_cmd(); its hw_error check is not modelled). */
export function readTdxCmd(arg: IoctlArg | undefined): ReturnType<typeof decodeTdxCmd> | undefined {
  return arg instanceof Uint8Array && arg.length >= SIZEOF_KVM_TDX_CMD ? decodeTdxCmd(arg) : undefined;
}

function tdxTdInit(vm: TdxVm, data: bigint): SysResult {
  const { ctx, launch } = vm;
  // The state first, so a second INIT_VM is -EINVAL whatever it carries
  // and leaves the GPAW as it was.
  if (launch.state !== 'created') return err(EINVAL);
  const b = ctx.hostRead(data, SIZEOF_KVM_TDX_INIT_VM);
  if (isHostFault(b)) return err(EFAULT);
  const nent = u32(b, 256);
  // get_user(cpuid.nent), then -E2BIG above KVM_MAX_CPUID_ENTRIES, before
  // anything is copied; then the reserved[12] words (bytes 160..255) must
  // be zero.
  if (nent > KVM_MAX_CPUID_ENTRIES) return err(E2BIG);
  if (b.subarray(160, 256).some((x) => x !== 0)) return err(EINVAL);
  const eb = nent ? ctx.hostRead(data + BigInt(SIZEOF_KVM_TDX_INIT_VM), nent * 40) : new Uint8Array(0);
  if (isHostFault(eb)) return err(EFAULT);
  // setup_tdparams_eptp_controls(): GPAW from CPUID.0x80000008.EAX[23:16]; only 48 and 52.
  const leaf = decodeCpuidEntries(eb, nent).find((e) => e.fn === 0x80000008);
  if (leaf) {
    const w = (leaf.eax >>> 16) & 0xff || leaf.eax & 0xff;
    if (w !== 48 && w !== 52) return err(EINVAL);
    vm.gpaw = w;
  }
  const e = launch.initVm();
  return e ? err(e) : ok();
}

export function tdxVmIoctl(vm: TdxVm): Required<Pick<PlatformVm, 'vmIoctl'>> {
  return {
    vmIoctl(request, arg) {
      if (request !== KVM_MEMORY_ENCRYPT_OP) return undefined;
      const c = readTdxCmd(arg);
      if (!c) return err(EFAULT);
      switch (c.id) {
        case KVM_TDX_INIT_VM:
          return tdxTdInit(vm, c.data);
        case KVM_TDX_FINALIZE_VM: {
          const e = vm.launch.finalize();
          return e ? err(e) : ok();
        }
        default:
          return tdxModelControl(vm, c.id, c.data) ?? err(EINVAL);
      }
    },
  };
}
