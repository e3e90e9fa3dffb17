/**
 * vCPUs: creation, guest arguments, KVM_RUN and exit-reason checks.
 *
 * KVM_RUN is asynchronous: the model's KVM_RUN yields to the event loop, so
 * each vCPU's host loop written as its own async task interleaves with the
 * others and with the test's main flow, the way one pthread per vCPU does
 * in C. Every helper that awaits returns its result as a value; nothing
 * relies on a global errno surviving an await.
 */
import type { SysResult } from '../kvm/backend.js';
import { EINTR } from '../kvm/errno.js';
import { KvmRun } from '../kvm/kvm_run.js';
import { kvm_mp_state, kvm_regs } from '../kvm/structs.js';
import {
  EXIT_REASON_NAMES, KVM_CREATE_VCPU, KVM_EXIT_IO, KVM_GET_MP_STATE, KVM_GET_REGS, KVM_MP_STATE_RUNNABLE,
  KVM_SET_MP_STATE, SIZEOF_KVM_REGS, UCALL_UNHANDLED,
} from '../kvm/uapi.js';
import type { GuestCode } from '../guest/builder.js';
import { KVM_IOCTL_ERROR, TEST_ASSERT, TEST_FAIL, argText, failureSite, testAssertAt, testAssertFail } from './assert.js';
import { noteResult, setErrno } from './errno_state.js';
import { loadGuestProgram } from './guest_loader.js';
import { vcpuIoctl, __vmIoctl, assertVmVcpuIoctl } from './ioctl.js';
import { getUcall } from './ucall.js';
import { ksftEnv } from './options.js';
import { KvmVcpu, type KvmVm } from './vm.js';

/**
 * vm_vcpu_add(vm, id, guest_code): KVM_CREATE_VCPU, the kvm_run mapping,
 * and what x86's vm_arch_vcpu_add() sets up: the vCPU made RUNNABLE
 * (KVM_SET_MP_STATE), since with the in-kernel irqchip every vCPU but the
 * BSP would otherwise wait for an INIT/SIPI that never comes. Without one
 * (a TD's split irqchip) every vCPU starts runnable.
 */
export function vmVcpuAdd(vm: KvmVm, id: number, guestCode?: GuestCode): KvmVcpu {
  const r = __vmIoctl(vm, KVM_CREATE_VCPU, id);
  assertVmVcpuIoctl(vm, r.ret >= 0, 'KVM_CREATE_VCPU', r.ret, 'vcpu->fd >= 0');
  const vcpu = new KvmVcpu(vm, id, r.ret, new KvmRun(vm.backend.kvmRunView(r.ret)), guestCode);
  vm.vcpus.push(vcpu);
  if (vm.type >>> 0 < 32 && vm.hasIrqchip) vcpuMpStateSet(vcpu, KVM_MP_STATE_RUNNABLE);
  return vcpu;
}

/** vcpu_mp_state_set(): KVM_SET_MP_STATE, asserted. */
export function vcpuMpStateSet(vcpu: KvmVcpu, mpState: number): void {
  vcpuIoctl(vcpu, KVM_SET_MP_STATE, kvm_mp_state.encode({ mpState }));
}

/** vcpu_mp_state_get(): KVM_GET_MP_STATE, asserted. */
export function vcpuMpStateGet(vcpu: KvmVcpu): number {
  const b = new Uint8Array(kvm_mp_state.size);
  vcpuIoctl(vcpu, KVM_GET_MP_STATE, b);
  return kvm_mp_state.decode(b).mpState;
}

/**
 * vcpu_args_set(vcpu, num, ...): the guest code's arguments (RDI, RSI, RDX,
 * RCX, R8, R9). The program is recorded with them at the first KVM_RUN; once
 * the guest runs, new values change nothing, as rewriting argument registers
 * under running code would not.
 */
export function vcpuArgsSet(vcpu: KvmVcpu, ...args: (bigint | number)[]): void {
  TEST_ASSERT(args.length >= 1 && args.length <= 6, `Unsupported number of args,\n  num: ${args.length}\n`);
  vcpu.args = args.map((a) => BigInt(a));
}

/** Replace the vCPU's guest code (vcpu_arch_set_entry_point): it starts over at the new entry. */
export function vcpuSetGuestCode(vcpu: KvmVcpu, guestCode: GuestCode): void {
  vcpu.guestCode = guestCode;
  if (vcpu.attached) loadGuestProgram(vcpu);
}

/**
 * __vcpu_run(): one KVM_RUN, raw, under the watchdog: a KVM_RUN that lasts
 * KSFT_VCPU_TIMEOUT seconds is ended by a kick (immediate_exit and a signal
 * to the vCPU thread, which gets even a guest out that livelocks inside
 * KVM) and fails the test, so a guest that never exits is a failed test,
 * never a hang. C has no such watchdog; there only the runner's timeout
 * ends a stuck vCPU, by killing the whole test.
 */
export async function __vcpuRun(vcpu: KvmVcpu): Promise<SysResult> {
  if (!vcpu.attached) loadGuestProgram(vcpu);
  const b = vcpu.vm.backend;
  const secs = Number(ksftEnv().KSFT_VCPU_TIMEOUT);
  if (!secs) return noteResult(await b.kvmRun(vcpu.fd));
  let fired = false;
  const timer = setTimeout(() => {
    fired = true;
    b.kick(vcpu.fd);
  }, secs * 1000);
  let r: SysResult;
  try {
    r = await b.kvmRun(vcpu.fd);
  } finally {
    clearTimeout(timer);
  }
  if (fired && r.ret === -1 && r.errno === EINTR) {
    // Where the guest was: a real vCPU's RIP (in the guest agent's code), the model's is 0.
    const rip = __vcpuRegsGet(vcpu)?.rip;
    noteResult(r);
    testAssertAt(false, 'KVM_RUN returned', `vCPU ${vcpu.id}: KVM_RUN did not return within ${secs} s (KSFT_VCPU_TIMEOUT): ` +
      'the guest neither exited nor was interrupted; the watchdog ended it with immediate_exit and a signal' +
      (rip ? ` (guest RIP 0x${rip.toString(16)})` : ''),
    ['lib/kvm_util/vcpu.ts']);
  }
  return noteResult(r);
}

/**
 * _vcpu_run(): KVM_RUN, retried while it is interrupted (EINTR), with the
 * guest's unhandled-exception report checked on success.
 */
export async function _vcpuRun(vcpu: KvmVcpu): Promise<SysResult> {
  let r: SysResult;
  do {
    r = await __vcpuRun(vcpu);
  } while (r.ret === -1 && r.errno === EINTR);
  setErrno(r.ret < 0 ? r.errno : 0);
  if (r.ret === 0) assertOnUnhandledException(vcpu);
  return r;
}

/** vcpu_run(): _vcpu_run() asserting success. */
export async function vcpuRun(vcpu: KvmVcpu): Promise<void> {
  const r = await _vcpuRun(vcpu);
  setErrno(r.errno);
  testAssertAt(r.ret === 0, '!ret', KVM_IOCTL_ERROR('KVM_RUN', r.ret, r.errno), ['lib/kvm_util/vcpu.ts']);
}

function assertOnUnhandledException(vcpu: KvmVcpu): void {
  if (vcpu.run.exitReason !== KVM_EXIT_IO) return;
  const uc = getUcall(vcpu);
  if (uc.cmd === UCALL_UNHANDLED) TEST_FAIL(`Unexpected exception (vector:0x${uc.args[0]!.toString(16)})`);
}

/** The general registers of `struct kvm_regs` the tests read (ucall's RDI, a hypercall's RAX). */
export interface KvmRegs {
  readonly rax: bigint;
  readonly rbx: bigint;
  readonly rcx: bigint;
  readonly rdx: bigint;
  readonly rsi: bigint;
  readonly rdi: bigint;
  readonly rip: bigint;
}

/** KVM_GET_REGS, raw: the registers, or undefined when the ioctl fails. */
export function __vcpuRegsGet(vcpu: KvmVcpu): KvmRegs | undefined {
  const buf = new Uint8Array(SIZEOF_KVM_REGS);
  if (vcpu.vm.backend.ioctl(vcpu.fd, KVM_GET_REGS, buf).ret !== 0) return undefined;
  return decodeRegs(buf);
}

function decodeRegs(buf: Uint8Array): KvmRegs {
  const { rax, rbx, rcx, rdx, rsi, rdi, rip } = kvm_regs.decode(buf);
  return { rax, rbx, rcx, rdx, rsi, rdi, rip };
}

/** vcpu_regs_get(): KVM_GET_REGS, asserted. */
export function vcpuRegsGet(vcpu: KvmVcpu): KvmRegs {
  const buf = new Uint8Array(SIZEOF_KVM_REGS);
  vcpuIoctl(vcpu, KVM_GET_REGS, buf);
  return decodeRegs(buf);
}

/** exit_reason_str(). */
export function exitReasonStr(reason: number): string {
  return EXIT_REASON_NAMES[reason] ?? 'Unknown';
}

/** TEST_ASSERT_KVM_EXIT_REASON(vcpu, expected). */
export function TEST_ASSERT_KVM_EXIT_REASON(vcpu: KvmVcpu, expected: number): void {
  const got = vcpu.run.exitReason;
  if (got === expected) return;
  const site = failureSite(['lib/kvm_util/vcpu.ts']);
  testAssertFail(site, `exit_reason == (${argText(site, 'TEST_ASSERT_KVM_EXIT_REASON', 1, String(expected))})`,
    `Wanted KVM exit reason: ${expected} (${exitReasonStr(expected)}), got: ${got} (${exitReasonStr(got)})`);
}

