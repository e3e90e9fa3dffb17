/** Host-side CCA helpers for tests: KVM_ARM_RMI_POPULATE (raw and asserting). */
import type { SysResult } from '../../lib/kvm/backend.js';
import { KVM_IOCTL_ERROR, TEST_ASSERT, type KvmVm } from '../../lib/kvm_util/index.js';
import { setErrno } from '../../lib/kvm_util/errno_state.js';
import { ExtendRegister } from '../../lib/platform/digest.js';
import { rimDataDescriptor, rimRecDescriptor } from './model.js';
import { KVM_ARM_MODEL_GET_RIM, KVM_ARM_RMI_POPULATE, KVM_ARM_RMI_POPULATE_FLAGS_MEASURE, encodeRmiPopulate } from './uapi.js';

export interface RmiPopulate {
  readonly base: bigint;
  readonly size: bigint;
  readonly sourceUaddr: bigint;
  readonly measure: boolean;
}

export function __rmiPopulate(vm: KvmVm, p: RmiPopulate): SysResult {
  const r = vm.backend.ioctl(vm.fd, KVM_ARM_RMI_POPULATE, encodeRmiPopulate({ ...p, flags: p.measure ? KVM_ARM_RMI_POPULATE_FLAGS_MEASURE : 0 }));
  setErrno(r.errno);
  return r;
}

export function rmiPopulate(vm: KvmVm, p: RmiPopulate): void {
  const r = __rmiPopulate(vm, p);
  TEST_ASSERT(r.ret === 0, KVM_IOCTL_ERROR('KVM_ARM_RMI_POPULATE', r.ret, r.errno));
}

/** Model-only: the realm's RIM (initial measurement) so far. */
export function ccaModelRim(vm: KvmVm): Uint8Array {
  const b = new Uint8Array(32);
  const r = vm.backend.ioctl(vm.fd, KVM_ARM_MODEL_GET_RIM, b);
  TEST_ASSERT(r.ret === 0, KVM_IOCTL_ERROR('KVM_ARM_MODEL_GET_RIM', r.ret, r.errno));
  return b;
}

/** The RIM a verifier expects: the populated granules in order, then one REC per vCPU at activation. */
export function expectedRim(pages: readonly { ipa: bigint; data: Uint8Array; measure: boolean }[], nrVcpus: number): Uint8Array {
  const rim = new ExtendRegister('sha256');
  for (const p of pages) rim.extend(rimDataDescriptor(p.ipa, p.measure ? KVM_ARM_RMI_POPULATE_FLAGS_MEASURE : 0, p.data));
  for (let i = 0; i < nrVcpus; i++) rim.extend(rimRecDescriptor(i));
  return rim.digest;
}
