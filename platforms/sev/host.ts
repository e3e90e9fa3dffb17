/**
 * Host-side SEV / SEV-ES / SNP helpers for tests (the selftests' sev.c:
 * vm_sev_launch() and friends): KVM_MEMORY_ENCRYPT_OP commands with their
 * argument structs placed in the VMM's memory. `__` forms return the raw
 * result with the firmware status; plain forms assert.
 */
import { getU64 } from '../../lib/kvm/layout.js';
import { kvm_device_attr } from '../../lib/kvm/structs.js';
import { KVM_GET_DEVICE_ATTR, KVM_HAS_DEVICE_ATTR } from '../../lib/kvm/uapi.js';
import { KVM_IOCTL_ERROR, TEST_ASSERT, kvmBackend, kvmClose, openKvmDevPathOrExit, type KvmVm } from '../../lib/kvm_util/index.js';
import { setErrno } from '../../lib/kvm_util/errno_state.js';
import { memoryEncryptOp } from '../../lib/platform/encrypt_op.js';
import {
  KVM_SEV_INIT2, KVM_SEV_LAUNCH_FINISH, KVM_SEV_LAUNCH_MEASURE, KVM_SEV_LAUNCH_SECRET, KVM_SEV_LAUNCH_START,
  KVM_SEV_LAUNCH_UPDATE_DATA, KVM_SEV_LAUNCH_UPDATE_VMSA, SEV_CMD_NAMES, SEV_MEASUREMENT_LEN, decodeSevCmd,
  encodeSevCmd, encodeSevInit, encodeSevLaunchSecret, encodeSevLaunchStart, encodeUaddrLen, KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES,
} from './uapi.js';

export interface SevOpResult {
  readonly ret: number;
  readonly errno: number;
  /** Firmware status (kvm_sev_cmd.error). */
  readonly fwError: number;
  readonly data: Uint8Array;
}

export function __sevIoctl(vm: KvmVm, id: number, data: Uint8Array): SevOpResult {
  const r = memoryEncryptOp(vm.backend, vm.fd, (d) => encodeSevCmd({ id, data: d }), data);
  setErrno(r.errno);
  return { ret: r.ret, errno: r.errno, fwError: decodeSevCmd(r.cmd).error, data: r.data };
}

export function sevIoctl(vm: KvmVm, id: number, data: Uint8Array): SevOpResult {
  const r = __sevIoctl(vm, id, data);
  TEST_ASSERT(r.ret === 0, `${KVM_IOCTL_ERROR(SEV_CMD_NAMES[id] ?? `SEV cmd ${id}`, r.ret, r.errno)} (fw error ${r.fwError})`);
  return r;
}

/**
 * KVM_SEV_INIT2, asserting. Only on a VM without vCPUs (__sev_guest_init()
 * refuses one that has any): a VM from vmCreateBarebonesType(); __vmCreate()
 * already issues it for the SEV types.
 */
export const vmSevInit2 = (vm: KvmVm, p: { vmsaFeatures?: bigint; ghcbVersion?: number } = {}): SevOpResult =>
  sevIoctl(vm, KVM_SEV_INIT2, encodeSevInit(p));

export const vmSevLaunchStart = (vm: KvmVm, policy: number, session?: { uaddr: bigint; len: number }): SevOpResult =>
  sevIoctl(vm, KVM_SEV_LAUNCH_START, encodeSevLaunchStart({ policy, sessionUaddr: session?.uaddr ?? 0n, sessionLen: session?.len ?? 0 }));

export const __vmSevLaunchUpdateData = (vm: KvmVm, uaddr: bigint, len: number): SevOpResult =>
  __sevIoctl(vm, KVM_SEV_LAUNCH_UPDATE_DATA, encodeUaddrLen(uaddr, len));

export const vmSevLaunchUpdateData = (vm: KvmVm, uaddr: bigint, len: number): SevOpResult =>
  sevIoctl(vm, KVM_SEV_LAUNCH_UPDATE_DATA, encodeUaddrLen(uaddr, len));

export const vmSevLaunchUpdateVmsa = (vm: KvmVm): SevOpResult => sevIoctl(vm, KVM_SEV_LAUNCH_UPDATE_VMSA, new Uint8Array(0));

/** LAUNCH_MEASURE into a fresh buffer; returns the 48-byte blob (HMAC then MNONCE). */
export function vmSevLaunchMeasure(vm: KvmVm): Uint8Array {
  const b = vm.backend;
  const m = b.mmap(0n, 4096n, 3, 0x22, -1, 0n);
  TEST_ASSERT(m.errno === 0, 'mmap for the measurement failed');
  sevIoctl(vm, KVM_SEV_LAUNCH_MEASURE, encodeUaddrLen(m.addr, SEV_MEASUREMENT_LEN));
  return b.hostRead(m.addr, SEV_MEASUREMENT_LEN);
}

export const vmSevLaunchSecret = (vm: KvmVm, guestUaddr: bigint, transUaddr: bigint, len: number): SevOpResult =>
  sevIoctl(vm, KVM_SEV_LAUNCH_SECRET, encodeSevLaunchSecret({ guestUaddr, guestLen: len, transUaddr, transLen: len }));

export const __vmSevLaunchFinish = (vm: KvmVm): SevOpResult => __sevIoctl(vm, KVM_SEV_LAUNCH_FINISH, new Uint8Array(0));
export const vmSevLaunchFinish = (vm: KvmVm): SevOpResult => sevIoctl(vm, KVM_SEV_LAUNCH_FINISH, new Uint8Array(0));

/**
 * vm_sev_launch(): LAUNCH_START, LAUNCH_UPDATE_DATA over `regions` (HVA,
 * length), UPDATE_VMSA for SEV-ES, LAUNCH_MEASURE, LAUNCH_FINISH. Returns
 * the measurement blob. The VM is already initialised: __vmCreate() ran
 * KVM_SEV_INIT2 before the vCPUs existed (kvm_arch_vm_post_create()), which
 * is the only time the kernel accepts it (__sev_guest_init()).
 */
export function vmSevLaunch(vm: KvmVm, policy: number, regions: readonly { hva: bigint; len: number }[], es = false): Uint8Array {
  vmSevLaunchStart(vm, policy);
  for (const r of regions) vmSevLaunchUpdateData(vm, r.hva, r.len);
  if (es) vmSevLaunchUpdateVmsa(vm);
  const m = vmSevLaunchMeasure(vm);
  vmSevLaunchFinish(vm);
  return m;
}

/**
 * The VMSA features KVM_SEV_INIT2 accepts, as sev_init2_tests reads them:
 * kvm_device_attr_get(kvm_fd, KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES).
 * null when /dev/kvm does not have the attribute (__kvm_has_device_attr()
 * fails: no SVM, or a kernel before KVM_SEV_INIT2).
 */
export function kvmSevSupportedVmsaFeatures(): bigint | null {
  const b = kvmBackend();
  const kvm = openKvmDevPathOrExit();
  const m = b.mmap(0n, 4096n, 3, 0x22, -1, 0n);
  TEST_ASSERT(m.errno === 0, 'mmap for the device attribute value failed');
  try {
    const attr = kvm_device_attr.encode({ group: KVM_X86_GRP_SEV, attr: KVM_X86_SEV_VMSA_FEATURES, addr: m.addr });
    if (b.ioctl(kvm, KVM_HAS_DEVICE_ATTR, attr).ret !== 0) return null;
    const r = b.ioctl(kvm, KVM_GET_DEVICE_ATTR, attr);
    TEST_ASSERT(r.ret === 0, KVM_IOCTL_ERROR('KVM_GET_DEVICE_ATTR', r.ret, r.errno));
    return getU64(b.hostRead(m.addr, 8), 0);
  } finally {
    b.munmap(m.addr, 4096n);
    kvmClose(kvm);
  }
}
