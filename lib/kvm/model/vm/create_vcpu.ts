/**
 * KVM_CREATE_VCPU: kvm_vm_ioctl_create_vcpu() (virt/kvm/kvm_main.c). An id
 * at or past KVM_MAX_VCPU_IDS, or created_vcpus already at max_vcpus
 * (KVM_MAX_VCPUS), is EINVAL; then kvm_arch_vcpu_precreate()
 * (arch/x86/kvm/x86.c) fixes kvm->arch.max_vcpu_ids on first use and refuses
 * an id at or past it (EINVAL), then the vendor's precreate (the platform),
 * then the id must be unused (EEXIST). The vCPU holds a VM reference.
 */

import { err, ok, type SysResult } from '../../backend.js';
import { EEXIST, EINVAL } from '../../errno.js';
import { KVM_MAX_VCPU_IDS, KVM_MAX_VCPUS } from '../caps.js';
import type { Vm } from '../vm.js';

export function kvmVmIoctlCreateVcpu(vm: Vm, id: bigint): SysResult {
  if (id >= BigInt(KVM_MAX_VCPU_IDS)) return err(EINVAL);
  if (vm.vcpus.length >= KVM_MAX_VCPUS) return err(EINVAL);
  if (!vm.maxVcpuIds) vm.maxVcpuIds = KVM_MAX_VCPU_IDS;
  if (id >= BigInt(vm.maxVcpuIds)) return err(EINVAL);
  const n = Number(id);
  const refused = vm.pvm.vcpuCreate?.(n);
  if (refused) return err(refused);
  if (vm.vcpuIds.has(n)) return err(EEXIST);
  vm.vcpuIds.add(n);
  const f = vm.sys.createVcpu(vm, n);
  vm.vcpus.push(f);
  vm.get();
  try { vm.pvm.onVcpuCreate?.(n); } catch (e) { vm.sys.noteInternalError('onVcpuCreate', e); }
  return ok(vm.sys.fds.install(f));
}
