/**
 * Host-side TDX helpers for tests (the TDX selftest library's
 * td_initialize() steps): raw `__` forms return {ret, errno}; plain forms
 * assert with the command's name.
 */
import type { SysResult } from '../../lib/kvm/backend.js';
import { KVM_MEMORY_ENCRYPT_OP } from '../../lib/kvm/uapi.js';
import { KVM_IOCTL_ERROR, TEST_ASSERT, requireModel, type KvmVcpu, type KvmVm } from '../../lib/kvm_util/index.js';
import { memoryEncryptOp } from '../../lib/platform/encrypt_op.js';
import { setErrno } from '../../lib/kvm_util/errno_state.js';
import {
  KVM_TDX_FINALIZE_VM, KVM_TDX_INIT_MEM_REGION, KVM_TDX_INIT_VCPU, KVM_TDX_INIT_VM, KVM_TDX_MEASURE_MEMORY_REGION,
  KVM_TDX_MODEL_GET_MRTD, KVM_TDX_MODEL_HOST_WRITE, encodeInitMemRegion, encodeTdxCmd, encodeTdxInitVm, type CpuidEntry,
} from './uapi.js';

const note = (r: SysResult): SysResult => {
  setErrno(r.errno);
  return r;
};

/**
 * KVM_TDX_INIT_VM, once per TD and before its first vCPU (tdx_td_init(),
 * tdx_vcpu_create()). kvm_util's __vmCreate() issues it with defaults; a
 * test with parameters of its own calls this as its `postCreate`.
 */
export function __tdxInitVm(vm: KvmVm, opts: { gpaw?: number } = {}): SysResult {
  const cpuid: CpuidEntry[] = opts.gpaw ? [{ fn: 0x80000008, index: 0, eax: opts.gpaw << 16, ebx: 0, ecx: 0, edx: 0 }] : [];
  return note(memoryEncryptOp(vm.backend, vm.fd, (d) => encodeTdxCmd({ id: KVM_TDX_INIT_VM, data: d }), encodeTdxInitVm({ cpuid })));
}

export function tdxInitVm(vm: KvmVm, opts: { gpaw?: number } = {}): void {
  const r = __tdxInitVm(vm, opts);
  TEST_ASSERT(r.ret === 0, KVM_IOCTL_ERROR('KVM_TDX_INIT_VM', r.ret, r.errno));
}

export function __tdxInitVcpu(vcpu: KvmVcpu): SysResult {
  return note(memoryEncryptOp(vcpu.vm.backend, vcpu.fd, (d) => encodeTdxCmd({ id: KVM_TDX_INIT_VCPU, data: d }), new Uint8Array(0)));
}

export function tdxInitVcpu(vcpu: KvmVcpu): void {
  const r = __tdxInitVcpu(vcpu);
  TEST_ASSERT(r.ret === 0, KVM_IOCTL_ERROR('KVM_TDX_INIT_VCPU', r.ret, r.errno));
}

export interface InitMemRegion {
  readonly sourceAddr: bigint;
  readonly gpa: bigint;
  readonly nrPages: bigint;
  readonly measure: boolean;
}

/** KVM_TDX_INIT_MEM_REGION; returns the region as the kernel left it (remaining pages). */
export function __tdxInitMemRegion(vcpu: KvmVcpu, r: InitMemRegion): SysResult & { remaining: bigint } {
  const res = memoryEncryptOp(vcpu.vm.backend, vcpu.fd,
    (d) => encodeTdxCmd({ id: KVM_TDX_INIT_MEM_REGION, flags: r.measure ? KVM_TDX_MEASURE_MEMORY_REGION : 0, data: d }),
    encodeInitMemRegion(r));
  note(res);
  return { ret: res.ret, errno: res.errno, remaining: new DataView(res.data.buffer, res.data.byteOffset).getBigUint64(16, true) };
}

export function tdxInitMemRegion(vcpu: KvmVcpu, r: InitMemRegion): void {
  const res = __tdxInitMemRegion(vcpu, r);
  TEST_ASSERT(res.ret === 0, KVM_IOCTL_ERROR('KVM_TDX_INIT_MEM_REGION', res.ret, res.errno));
}

export function __tdxFinalizeVm(vm: KvmVm): SysResult {
  return note(memoryEncryptOp(vm.backend, vm.fd, (d) => encodeTdxCmd({ id: KVM_TDX_FINALIZE_VM, data: d }), new Uint8Array(0)));
}

export function tdxFinalizeVm(vm: KvmVm): void {
  const r = __tdxFinalizeVm(vm);
  TEST_ASSERT(r.ret === 0, KVM_IOCTL_ERROR('KVM_TDX_FINALIZE_VM', r.ret, r.errno));
}

/**
 * td_initialize() without payload on a TD whose KVM_TDX_INIT_VM already ran
 * (kvm_util's __vmCreate(), kvm_arch_vm_post_create(): tdx_vcpu_create()
 * refuses vCPUs before it): INIT_VCPU for every vCPU, FINALIZE_VM.
 */
export function tdxInitAndFinalize(vm: KvmVm): void {
  for (const v of vm.vcpus) tdxInitVcpu(v);
  tdxFinalizeVm(vm);
}

/** Model-only and destructive: a host kernel partial write to the private page of `gpa` (scenario 20). */
export function __tdxModelHostWrite(vm: KvmVm, gpa: bigint): SysResult {
  requireModel('host kernel write to a TD private page');
  return note(vm.backend.ioctl(vm.fd, KVM_MEMORY_ENCRYPT_OP, encodeTdxCmd({ id: KVM_TDX_MODEL_HOST_WRITE, data: gpa })));
}

/** Model-only: the TD's MRTD so far (final after FINALIZE_VM). */
export function tdxModelMrtd(vm: KvmVm): Uint8Array {
  requireModel('TD measurement register readout');
  const r = memoryEncryptOp(vm.backend, vm.fd, (d) => encodeTdxCmd({ id: KVM_TDX_MODEL_GET_MRTD, data: d }), new Uint8Array(48));
  TEST_ASSERT(r.ret === 0, KVM_IOCTL_ERROR('KVM_TDX_MODEL_GET_MRTD', r.ret, r.errno));
  return r.data;
}
