/**
 * KVM_RUN: kvm_arch_vcpu_ioctl_run() (arch/x86/kvm/x86.c). The exit
 * userspace handled is completed first (complete_userspace_io(): PIO, MMIO
 * data, a hypercall's return value, a platform's resume), then
 * immediate_exit or a pending signal ends the run with EINTR before the
 * guest runs; otherwise the interpreter steps until an exit. A vCPU that is
 * not runnable, or halted, blocks (kvm_vcpu_block()) until a signal.
 */

import { err, ok, type SysResult } from '../../backend.js';
import { EINTR, EINVAL } from '../../errno.js';
import { KVM_MP_STATE_RUNNABLE, PAGE_SIZE } from '../../uapi.js';
import { KVM_EXIT_INTR, KVM_INTERNAL_ERROR_EMULATION, writeExit } from '../exits.js';
import type { Step, Vcpu } from '../vcpu.js';
import { step } from './interpreter.js';
import { expectFailed } from './ucall.js';

const PAGE = BigInt(PAGE_SIZE);

/** Steps between checks of the clock; the interpreter yields to the event loop at least every YIELD_MS. */
const STEPS_PER_CHECK = 64;
const YIELD_MS = 2;
/** When the vCPUs of this process last yielded to the event loop. */
let lastYield = performance.now();
let yieldGate: Promise<void> | undefined;

/**
 * One trip through the event loop that every vCPU due for a yield shares:
 * they wait on the same setImmediate and resume in the order they came, so
 * vCPUs that were interleaving keep interleaving instead of one running
 * alone while the others queue behind it.
 */
function yieldToEventLoop(): Promise<void> {
  yieldGate ??= new Promise<void>((r) => setImmediate(() => {
    lastYield = performance.now();
    yieldGate = undefined;
    r();
  }));
  return yieldGate;
}

/** KVM_RUN. Serialised per vCPU like vcpu->mutex. */
export function kvmVcpuRun(v: Vcpu): Promise<SysResult> {
  const prev = v.running ?? Promise.resolve(ok());
  const p = prev.then(() => runOnce(v));
  v.running = p;
  return p;
}

async function runOnce(v: Vcpu): Promise<SysResult> {
  if (v.vm.destroyed || v.released) return err(EINVAL);
  // kvm_arch_vcpu_ioctl_run(): complete_userspace_io() (PIO, MMIO, hypercall
  // return) runs first, so immediate_exit can finish a pending exit without
  // re-entering the guest; then immediate_exit or a signal gives EINTR.
  const done = completePending(v);
  if (done) return done.exit;
  // !vcpu->wants_to_run (immediate_exit, which a kick sets) ends KVM_RUN
  // before the guest runs: -EINTR, and kvm_run->exit_reason is left as it
  // was (kvm_arch_vcpu_ioctl_run()); only a signal taken while the vCPU
  // runs reports KVM_EXIT_INTR.
  if (v.run.immediateExit || v.kickRequested) {
    v.kickRequested = false;
    return err(EINTR);
  }
  if (!v.program) return v.finish({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION, data: [] });
  if (v.stopped) return writeExit(v.runBytes, v.stopped);
  // A vCPU waiting for INIT/SIPI (an AP nobody woke) blocks in KVM_RUN as a halted one does.
  if (v.mpState !== KVM_MP_STATE_RUNNABLE) return block(v);
  if (codeGone(v)) return v.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION, data: [] })!.exit;
  try {
    const e = v.vm.pvm.beforeRun?.(v.id);
    if (e) return err(e);
  } catch (e) {
    v.vm.sys.noteInternalError('beforeRun', e);
    return err(EINVAL);
  }
  let steps = 0;
  for (;;) {
    // Yield to the event loop at least every YIELD_MS across every vCPU and
    // KVM_RUN: a guest that exits to the host in a tight loop (MMIO reads
    // the host answers at once) must not starve the host's timers, as a
    // real vCPU thread never starves the main thread.
    if (++steps % STEPS_PER_CHECK === 1 && (yieldGate || performance.now() - lastYield >= YIELD_MS)) {
      await yieldToEventLoop();
      if (v.kickRequested) return intr(v);
      if (v.vm.destroyed || v.released) return err(EINVAL);
      if (codeGone(v)) return v.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION, data: [] })!.exit;
    }
    const r = await step(v);
    if (r) return r.exit;
  }
}

/**
 * The memslot under the program's area (its code and page tables on a
 * real guest) is gone: the next instruction fetch goes to emulated MMIO,
 * which x86_emulate_instruction() cannot decode (KVM_EXIT_INTERNAL_ERROR,
 * emulation), as set_memory_region_test's deleted slot 0 shows.
 */
function codeGone(v: Vcpu): boolean {
  const area = v.program?.area;
  return area !== undefined && !v.vm.slots.find(0, Number(area.gpa / PAGE));
}

/** kvm_vcpu_block() with nothing to wake the vCPU: only a signal (a kick) ends KVM_RUN, with EINTR. */
export async function block(v: Vcpu): Promise<SysResult> {
  await new Promise<void>((r) => { v.wakeHalt = r; if (v.kickRequested) r(); });
  v.wakeHalt = undefined;
  return intr(v);
}

function intr(v: Vcpu): SysResult {
  v.kickRequested = false;
  v.run.exitReason = KVM_EXIT_INTR;
  return err(EINTR);
}

/** Finish what the last exit left open: IN data, hypercall return value, a platform resume. */
function completePending(v: Vcpu): Step {
  const p = v.pending;
  v.pending = { kind: 'none' };
  switch (p.kind) {
    case 'none':
    case 'pio':
    case 'mmio':
      return undefined;
    case 'mmio_load': {
      // complete_emulated_mmio(): the read's destination takes mmio.data.
      let x = 0n;
      for (let i = p.width - 1; i >= 0; i--) x = (x << 8n) | BigInt(v.runBytes[40 + i]!);
      v.gregs[p.dst.reg] = x;
      v.advance();
      return undefined;
    }
    case 'hypercall': {
      // complete_hypercall_exit(): RAX = run->hypercall.ret, RIP past the vmcall.
      const ret = v.run.hypercallRet;
      v.setReg('rax', ret);
      if (p.dst) v.gregs[p.dst.reg] = ret;
      v.advance();
      if (p.expect !== undefined && ret !== BigInt.asUintN(64, p.expect)) return expectFailed(v, p.loc, p.expr, ret, p.expect);
      return undefined;
    }
    case 'platform': {
      let status: bigint | undefined;
      try {
        status = p.resume?.({ hypercallRet: v.run.hypercallRet, bytes: v.runBytes });
      } catch (e) {
        v.vm.sys.noteInternalError('resume', e);
        return v.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION });
      }
      // retry + resume: the op consumed userspace's answer and runs again (multi-exit ops: MapGPA chunks, PSC runs).
      if (p.again) return undefined;
      v.advance();
      if (p.dst && status !== undefined) v.gregs[p.dst.reg] = status;
      if (p.expect !== undefined && status !== undefined && status !== BigInt.asUintN(64, p.expect)) {
        return expectFailed(v, p.loc, p.expr, status, p.expect);
      }
      return undefined;
    }
  }
}
