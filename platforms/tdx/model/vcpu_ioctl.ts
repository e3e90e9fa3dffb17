/**
 * A TD's vCPU in the model (arch/x86/kvm/vmx/tdx.c): creation only
 * between INIT_VM and FINALIZE_VM (tdx_vcpu_create()), no KVM_RUN before
 * finalise (tdx_vcpu_pre_run()), and KVM_MEMORY_ENCRYPT_OP on the vCPU fd
 * (tdx_vcpu_ioctl()): KVM_TDX_INIT_VCPU (tdx_vcpu_init()) and
 * KVM_TDX_INIT_MEM_REGION (init_mem_region.ts). KVM_INTERRUPT marks the
 * interrupt MapGPA checks for between chunks.
 */
import { err, ok } from '../../../lib/kvm/backend.js';
import { EFAULT, EINVAL } from '../../../lib/kvm/errno.js';
import type { PlatformVm } from '../../../lib/kvm/model/platform.js';
import { KVM_MEMORY_ENCRYPT_OP } from '../../../lib/kvm/uapi.js';
import { KVM_INTERRUPT, KVM_TDX_INIT_MEM_REGION, KVM_TDX_INIT_VCPU } from '../uapi.js';
import { tdxInitMemRegion } from './init_mem_region.js';
import type { TdxVm } from './state.js';
import { readTdxCmd } from './vm_ioctl.js';

export function tdxVcpuHooks(vm: TdxVm): Pick<PlatformVm, 'vcpuCreate' | 'vcpuIoctl' | 'beforeRun'> {
  const { launch } = vm;
  return {
    // -EIO unless KVM_TDX_INIT_VM ran and FINALIZE_VM did not.
    vcpuCreate: () => launch.vcpuCreate() || undefined,
    vcpuIoctl(vcpu, request, arg) {
      if (request === KVM_INTERRUPT) {
        vm.irqPending.add(vcpu.vcpu);
        return ok();
      }
      if (request !== KVM_MEMORY_ENCRYPT_OP) return undefined;
      const c = readTdxCmd(arg);
      if (!c) return err(EFAULT);
      switch (c.id) {
        case KVM_TDX_INIT_VCPU: {
          const e = launch.initVcpu(vcpu.vcpu);
          return e ? err(e) : ok();
        }
        case KVM_TDX_INIT_MEM_REGION:
          return tdxInitMemRegion(vm, vcpu, c.flags, c.data);
        default:
          return err(EINVAL);
      }
    },
    beforeRun: () => (launch.state === 'runnable' ? undefined : EINVAL),
  };
}
