/**
 * Host-side SNP helpers for tests: SNP_LAUNCH_START/UPDATE/FINISH through
 * KVM_MEMORY_ENCRYPT_OP, with the updated SNP_LAUNCH_UPDATE struct returned
 * so a caller can resume after -EAGAIN.
 */
import type { KvmVm } from '../../lib/kvm_util/index.js';
import { TEST_ASSERT, requireModel } from '../../lib/kvm_util/index.js';
import { __sevIoctl, sevIoctl, type SevOpResult } from '../sev/host.js';
import { KVM_SEV_SNP_LAUNCH_FINISH, KVM_SEV_SNP_LAUNCH_START, KVM_SEV_SNP_LAUNCH_UPDATE } from '../sev/uapi.js';
import { gpaArg } from '../../lib/platform/encrypt_op.js';
import {
  KVM_SEV_MODEL_HOST_WRITE, KVM_SEV_MODEL_LAUNCH_DIGEST, SIZEOF_KVM_SEV_SNP_LAUNCH_FINISH, decodeSnpLaunchUpdate,
  encodeSnpLaunchStart, encodeSnpLaunchUpdate, type SnpLaunchUpdate,
} from './uapi.js';

/** SNP policy with SMT allowed and the reserved bit 17 set (snp_default_policy()). */
export const SNP_POLICY_DEFAULT = (1n << 16n) | (1n << 17n);

/**
 * SNP_LAUNCH_START (snp_vm_launch_start()). KVM_SEV_INIT2 came before the
 * vCPUs, from __vmCreate() (kvm_arch_vm_post_create()): __sev_guest_init()
 * refuses it once vCPUs exist.
 */
export function snpLaunchStart(vm: KvmVm, policy = SNP_POLICY_DEFAULT): SevOpResult {
  return sevIoctl(vm, KVM_SEV_SNP_LAUNCH_START, encodeSnpLaunchStart(policy));
}

export function __snpLaunchUpdate(vm: KvmVm, u: SnpLaunchUpdate): SevOpResult & { left: SnpLaunchUpdate } {
  const r = __sevIoctl(vm, KVM_SEV_SNP_LAUNCH_UPDATE, encodeSnpLaunchUpdate(u));
  return { ...r, left: decodeSnpLaunchUpdate(r.data) };
}

export function snpLaunchUpdate(vm: KvmVm, u: SnpLaunchUpdate): void {
  const r = __snpLaunchUpdate(vm, u);
  TEST_ASSERT(r.ret === 0, `KVM_SEV_SNP_LAUNCH_UPDATE failed, rc: ${r.ret} errno: ${r.errno} (fw error ${r.fwError})`);
}

export const __snpLaunchFinish = (vm: KvmVm): SevOpResult => __sevIoctl(vm, KVM_SEV_SNP_LAUNCH_FINISH, new Uint8Array(SIZEOF_KVM_SEV_SNP_LAUNCH_FINISH));
export const snpLaunchFinish = (vm: KvmVm): SevOpResult => sevIoctl(vm, KVM_SEV_SNP_LAUNCH_FINISH, new Uint8Array(SIZEOF_KVM_SEV_SNP_LAUNCH_FINISH));

/** Model-only: the launch digest (an attestation report's MEASUREMENT). */
export function snpModelLaunchDigest(vm: KvmVm): Uint8Array {
  requireModel('SNP launch digest');
  return sevIoctl(vm, KVM_SEV_MODEL_LAUNCH_DIGEST, new Uint8Array(48)).data;
}

/** Model-only and destructive on real hosts: a host kernel write to the page of `gpa` (scenario 19). */
export function __snpModelHostWrite(vm: KvmVm, gpa: bigint): SevOpResult {
  requireModel('host kernel write to an SNP private page');
  return __sevIoctl(vm, KVM_SEV_MODEL_HOST_WRITE, gpaArg(gpa));
}
