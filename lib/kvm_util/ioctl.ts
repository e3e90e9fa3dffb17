/**
 * __vm_ioctl / vm_ioctl and the vCPU pair: raw calls return {ret, errno}
 * (and set errno like libc); asserting calls print the ioctl's *name*.
 *
 * Before blaming the ioctl, the asserting form checks whether KVM killed the
 * VM: then every ioctl on it gives EIO, and so does KVM_CHECK_EXTENSION
 * (kvm_util.h, __TEST_ASSERT_VM_VCPU_IOCTL).
 */
import type { IoctlArg, SysResult } from '../kvm/backend.js';
import { EIO } from '../kvm/errno.js';
import { decodeUserspaceMemoryRegion2 } from '../kvm/structs.js';
import {
  IOCTL_NAMES, KVM_CAP_USER_MEMORY2, KVM_CHECK_EXTENSION, KVM_PRE_FAULT_MEMORY, KVM_SET_USER_MEMORY_REGION, KVM_SET_USER_MEMORY_REGION2,
} from '../kvm/uapi.js';
import { ksftEnv } from './options.js';
import { KVM_IOCTL_ERROR, testAssertAt } from './assert.js';
import { getErrno, noteResult, setErrno } from './errno_state.js';
import type { KvmVcpu, KvmVm } from './vm.js';

const SELF = ['lib/kvm_util/ioctl.ts'];

/** The ioctl's name (`KVM_SET_MEMORY_ATTRIBUTES`) for messages, or its number in hex. */
export const ioctlName = (request: number): string => IOCTL_NAMES[request] ?? `0x${request.toString(16)}`;

/** __kvm_ioctl(): an ioctl on the VM's /dev/kvm fd, raw (`{ ret, errno }`, errno set). */
export function __kvmIoctl(vm: KvmVm, request: number, arg?: IoctlArg): SysResult {
  return noteResult(vm.backend.ioctl(vm.kvmFd, request, arg));
}

/** __vm_ioctl(): an ioctl on the VM fd, raw (`{ ret, errno }`, errno set). */
export function __vmIoctl(vm: KvmVm, request: number, arg?: IoctlArg): SysResult {
  const r = noteResult(vm.backend.ioctl(vm.fd, request, arg));
  if (r.ret === 0 && arg instanceof Uint8Array && (request === KVM_SET_USER_MEMORY_REGION || request === KVM_SET_USER_MEMORY_REGION2)) {
    noteSlot(vm, decodeUserspaceMemoryRegion2(arg));
  }
  return r;
}

/** Keep vm.slotRecord as KVM now has it: size 0 deletes, anything else creates, moves or changes flags. */
function noteSlot(vm: KvmVm, m: { slot: number; flags: number; guestPhysAddr: bigint; memorySize: bigint; userspaceAddr: bigint }): void {
  if (m.memorySize === 0n) vm.slotRecord.delete(m.slot);
  else vm.slotRecord.set(m.slot, { slot: m.slot, flags: m.flags, gpa: m.guestPhysAddr, size: m.memorySize, hva: m.userspaceAddr });
}

/**
 * vCPU ioctls that can spin in the kernel: KVM_PRE_FAULT_MEMORY retries a
 * fault until it resolves, interruptible only by a signal. They run under
 * the KSFT_VCPU_TIMEOUT watchdog; a call it has to end fails the test, as a
 * KVM_RUN that never returns does.
 */
const WATCHED = new Set([KVM_PRE_FAULT_MEMORY]);

/** __vcpu_ioctl(): an ioctl on the vCPU fd, raw; KVM_PRE_FAULT_MEMORY runs under the KSFT_VCPU_TIMEOUT watchdog. */
export function __vcpuIoctl(vcpu: KvmVcpu, request: number, arg?: IoctlArg): SysResult {
  const secs = WATCHED.has(request >>> 0) ? Number(ksftEnv().KSFT_VCPU_TIMEOUT) : 0;
  const r = noteResult(vcpu.vm.backend.ioctl(vcpu.fd, request, arg, secs ? { timeoutMs: secs * 1000 } : {}));
  if (r.timedOut) {
    testAssertAt(false, `${ioctlName(request)} returned`, `vCPU ${vcpu.id}: ${ioctlName(request)} did not return within ${secs} s ` +
      '(KSFT_VCPU_TIMEOUT): the kernel kept retrying inside the ioctl; the watchdog ended it with a signal', SELF);
  }
  return r;
}

/** __TEST_ASSERT_VM_VCPU_IOCTL(cond, name, ret, vm). */
export function assertVmVcpuIoctl(vm: KvmVm, cond: boolean, name: string, ret: number, expr = '!ret'): void {
  if (cond) return;
  const saved = getErrno();
  if (saved === EIO && __vmIoctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY2).ret < 0) {
    testAssertAt(getErrno() === EIO, 'errno == EIO', 'KVM killed the VM, should return -EIO', SELF);
    testAssertAt(false, 'Failed', 'KVM killed/bugged the VM, check the kernel log for clues', SELF);
  }
  setErrno(saved);
  testAssertAt(cond, expr, KVM_IOCTL_ERROR(name, ret), SELF);
}

/** vm_ioctl(): asserts ret == 0 (or the ret >= 0 of ioctls returning an fd or a value, via `expectNonNegative`). */
export function vmIoctl(vm: KvmVm, request: number, arg?: IoctlArg, expectNonNegative = false): number {
  const r = __vmIoctl(vm, request, arg);
  assertVmVcpuIoctl(vm, expectNonNegative ? r.ret >= 0 : r.ret === 0, ioctlName(request), r.ret, expectNonNegative ? 'ret >= 0' : '!ret');
  return r.ret;
}

/** vcpu_ioctl(): the same, asserting ret == 0 with the ioctl's name in the message. */
export function vcpuIoctl(vcpu: KvmVcpu, request: number, arg?: IoctlArg): number {
  const r = __vcpuIoctl(vcpu, request, arg);
  assertVmVcpuIoctl(vcpu.vm, r.ret === 0, ioctlName(request), r.ret);
  return r.ret;
}
