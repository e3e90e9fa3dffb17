/**
 * Writing an exit into struct kvm_run and the KVM_RUN return value that goes
 * with it: KVM_EXIT_MEMORY_FAULT is the only exit that comes with -1
 * (EFAULT, or EHWPOISON), every other exit with 0 (Documentation/virt/kvm/api.rst §5);
 * a failed run ('error') has no exit at all.
 */

import type { SysResult } from '../backend.js';
import { EFAULT } from '../errno.js';
import { KvmRun } from '../kvm_run.js';
import {
  KVM_EXIT_HYPERCALL, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_IO, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO, KVM_EXIT_SHUTDOWN,
  KVM_EXIT_SYSTEM_EVENT, KVM_PIO_PAGE_OFFSET, PAGE_SIZE,
} from '../uapi.js';
import type { ExitSpec } from './platform.js';

/** KVM_EXIT_INTR: KVM_RUN interrupted (signal or immediate_exit). */
export const KVM_EXIT_INTR = 10;
/** KVM_EXIT_UNKNOWN: no exit reason (the run failed before a handler set one). */
export const KVM_EXIT_UNKNOWN = 0;
/** KVM_INTERNAL_ERROR_EMULATION: the instruction could not be emulated. */
export const KVM_INTERNAL_ERROR_EMULATION = 1;

export function writeExit(bytes: Uint8Array, e: ExitSpec): SysResult {
  const run = new KvmRun(bytes);
  run.clearExit();
  const dv = run.dv;
  switch (e.reason) {
    case 'memory_fault':
      run.exitReason = KVM_EXIT_MEMORY_FAULT;
      run.setMemoryFault(e.flags, e.gpa, e.size);
      return { ret: -1, errno: e.errno ?? EFAULT };
    case 'hypercall':
      run.exitReason = KVM_EXIT_HYPERCALL;
      run.setHypercall(e.nr, e.args, e.flags);
      return { ret: 0, errno: 0 };
    case 'system_event':
      run.exitReason = KVM_EXIT_SYSTEM_EVENT;
      run.setSystemEvent(e.type, e.data);
      return { ret: 0, errno: 0 };
    case 'io': {
      run.exitReason = KVM_EXIT_IO;
      const off = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;
      run.setIo(e.direction, e.size, e.port, e.count, BigInt(off));
      if (e.data) bytes.set(e.data.subarray(0, PAGE_SIZE), off);
      return { ret: 0, errno: 0 };
    }
    case 'mmio':
      run.exitReason = KVM_EXIT_MMIO;
      dv.setBigUint64(32, e.physAddr, true);
      if (e.data) bytes.set(e.data.subarray(0, 8), 40);
      dv.setUint32(48, e.len, true);
      dv.setUint8(52, e.isWrite ? 1 : 0);
      return { ret: 0, errno: 0 };
    case 'shutdown':
      run.exitReason = KVM_EXIT_SHUTDOWN;
      return { ret: 0, errno: 0 };
    case 'error':
      run.exitReason = KVM_EXIT_UNKNOWN;
      return { ret: -1, errno: e.errno };
    case 'internal_error': {
      run.exitReason = KVM_EXIT_INTERNAL_ERROR;
      dv.setUint32(32, e.suberror, true);
      const data = e.data ?? [];
      dv.setUint32(36, Math.min(data.length, 16), true);
      data.slice(0, 16).forEach((d, i) => dv.setBigUint64(40 + 8 * i, BigInt.asUintN(64, d), true));
      return { ret: 0, errno: 0 };
    }
  }
}
