/**
 * kvm_vm_fops (virt/kvm/kvm_main.c): the file KVM_CREATE_VM returns.
 * kvm_vm_ioctl() dispatches the generic VM ioctls and falls to
 * kvm_arch_vm_ioctl() (arch/x86/kvm/x86.c), whose unknown requests are
 * ENOTTY; the platform of the VM's type, then the other platforms'
 * foreign-VM hooks, answer the vendor ioctls in between. release is
 * kvm_vm_release() (kvm_put_kvm()); llseek is noop_llseek(); there is no
 * mmap.
 */

import { err, ok, type IoctlArg, type SysResult } from '../../backend.js';
import { EEXIST, EINVAL, EIO, ENOTTY } from '../../errno.js';
import {
  KVM_CHECK_EXTENSION, KVM_CREATE_GUEST_MEMFD, KVM_CREATE_IRQCHIP, KVM_CREATE_VCPU, KVM_ENABLE_CAP, KVM_GET_TSC_KHZ,
  KVM_SET_MEMORY_ATTRIBUTES, KVM_SET_NR_MMU_PAGES, KVM_SET_USER_MEMORY_REGION, KVM_SET_USER_MEMORY_REGION2,
} from '../../uapi.js';
import { capArg, intArg } from '../ioctl_args.js';
import type { FileOperations } from '../vfs/file.js';
import { noopLlseek } from '../vfs/read_write.js';
import { MODEL_TSC_KHZ, type Vm } from '../vm.js';
import { vmCheckExtension } from './check_extension.js';
import { kvmGmemCreate } from './create_guest_memfd.js';
import { kvmVmIoctlCreateVcpu } from './create_vcpu.js';
import { kvmVmIoctlEnableCap } from './enable_cap.js';
import { kvmVmIoctlSetMemAttributes } from './mem_attributes.js';
import { kvmVmIoctlSetMemoryRegion } from './set_memory_region.js';

export const kvmVmFops: FileOperations<Vm> = {
  name: 'kvm_vm_fops (virt/kvm/kvm_main.c)',
  release: (vm) => vm.put(),
  unlocked_ioctl: (vm, cmd, arg) => kvmVmIoctl(vm, cmd, arg),
  llseek: noopLlseek,
};

export function kvmVmIoctl(vm: Vm, request: number, arg: IoctlArg | undefined): SysResult {
  // kvm_vm_ioctl(): a dead VM answers EIO to everything.
  if (vm.destroyed) return err(EIO);
  switch (request) {
    case KVM_CHECK_EXTENSION: return ok(vmCheckExtension(vm, capArg(arg)));
    case KVM_CREATE_VCPU: return kvmVmIoctlCreateVcpu(vm, intArg(arg));
    case KVM_ENABLE_CAP: return kvmVmIoctlEnableCap(vm, arg);
    case KVM_CREATE_GUEST_MEMFD: return kvmGmemCreate(vm, arg);
    case KVM_SET_USER_MEMORY_REGION: return kvmVmIoctlSetMemoryRegion(vm, arg, false);
    case KVM_SET_USER_MEMORY_REGION2: return kvmVmIoctlSetMemoryRegion(vm, arg, true);
    case KVM_SET_MEMORY_ATTRIBUTES: return kvmVmIoctlSetMemAttributes(vm, arg);
    // kvm_vm_ioctl_set_nr_mmu_pages(): below KVM_MIN_ALLOC_MMU_PAGES (64) is EINVAL.
    case KVM_SET_NR_MMU_PAGES: return intArg(arg) < 64n ? err(EINVAL) : ok();
    // kvm_arch_vm_ioctl(): one irqchip per VM (EEXIST), and only before any vCPU (EINVAL).
    case KVM_CREATE_IRQCHIP:
      if (vm.irqchip) return err(EEXIST);
      if (vm.vcpus.length > 0) return err(EINVAL);
      vm.irqchip = true;
      return ok();
    // kvm->arch.default_tsc_khz: the host's TSC rate unless KVM_SET_TSC_KHZ changed it.
    case KVM_GET_TSC_KHZ: return ok(MODEL_TSC_KHZ);
    default: {
      const own = vm.pvm.vmIoctl?.(request, arg);
      if (own) return own;
      for (const p of vm.sys.platforms.all()) {
        if (p === vm.platform || !p.foreignVmIoctl) continue;
        const r = p.foreignVmIoctl(vm.ctx, request, arg);
        if (r) return r;
      }
      // kvm_arch_vm_ioctl(): unknown requests are ENOTTY.
      return err(ENOTTY);
    }
  }
}
