/**
 * The last exit of a vCPU in words, from `struct kvm_run` alone: its name
 * and number and the fields of the exit union that matter for private
 * memory (the port of an IO exit, the address and direction of an MMIO
 * exit, the hypercall and its arguments, the memory-fault range and
 * flags). Failure messages and the KSFT_TRACE log print it; kvm_util adds
 * what only it knows (which memslot a GPA falls in).
 */
import type { KvmRun } from './kvm_run.js';
import {
  EXIT_REASON_NAMES, KVM_EXIT_HYPERCALL, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_IO, KVM_EXIT_IO_IN, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO,
  KVM_EXIT_SYSTEM_EVENT, KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_ENCRYPTED, KVM_MEMORY_EXIT_FLAG_PRIVATE, UCALL_PIO_PORT,
} from './uapi.js';

const hex = (v: bigint | number): string => `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;

/** `KVM_EXIT_MMIO (6)`: an exit reason as the uAPI header names it, with its number. */
export function exitReasonName(reason: number): string {
  const n = EXIT_REASON_NAMES[reason];
  return n ? `KVM_EXIT_${n} (${reason})` : `exit reason ${reason}`;
}

/** The guest physical range a MAP_GPA_RANGE hypercall or a memory fault names, or undefined. */
export function exitGpaRange(run: KvmRun): { readonly gpa: bigint; readonly size: bigint } | undefined {
  if (run.exitReason === KVM_EXIT_HYPERCALL && run.hypercallNr === BigInt(KVM_HC_MAP_GPA_RANGE)) {
    return { gpa: run.hypercallArg(0), size: run.hypercallArg(1) * 4096n };
  }
  if (run.exitReason === KVM_EXIT_MEMORY_FAULT) return { gpa: run.memoryFaultGpa, size: run.memoryFaultSize };
  if (run.exitReason === KVM_EXIT_MMIO) return { gpa: run.mmioPhysAddr, size: BigInt(run.mmioLen) };
  return undefined;
}

/**
 * `KVM_EXIT_MMIO (6): write of 8 bytes at gpa 0xc0000000`, and so on for
 * each exit the selftests meet.
 */
export function exitText(run: KvmRun): string {
  const reason = run.exitReason;
  const name = exitReasonName(reason);
  switch (reason) {
    case KVM_EXIT_IO: {
      const dir = run.ioDirection === KVM_EXIT_IO_IN ? 'in' : 'out';
      const what = run.ioPort === UCALL_PIO_PORT && run.ioDirection === KVM_EXIT_IO_IN ? ' (the ucall port)' : '';
      return `${name}: ${dir} port ${hex(run.ioPort)}${what}, size ${run.ioSize}, count ${run.ioCount}`;
    }
    case KVM_EXIT_MMIO:
      return `${name}: ${run.mmioIsWrite ? 'write' : 'read'} of ${run.mmioLen} bytes at gpa ${hex(run.mmioPhysAddr)}`;
    case KVM_EXIT_HYPERCALL: {
      const nr = run.hypercallNr;
      if (nr === BigInt(KVM_HC_MAP_GPA_RANGE)) {
        const attrs = run.hypercallArg(2);
        const to = attrs & KVM_MAP_GPA_RANGE_ENCRYPTED ? 'private' : 'shared';
        return `${name}: KVM_HC_MAP_GPA_RANGE gpa ${hex(run.hypercallArg(0))} npages ${run.hypercallArg(1)} attrs ${hex(attrs)} (to ${to})`;
      }
      return `${name}: nr ${nr}, args ${[0, 1, 2].map((i) => hex(run.hypercallArg(i))).join(' ')}`;
    }
    case KVM_EXIT_MEMORY_FAULT: {
      const f = run.memoryFaultFlags;
      return `${name}: gpa ${hex(run.memoryFaultGpa)} size ${hex(run.memoryFaultSize)} flags ${hex(f)}` +
        ` (${f & KVM_MEMORY_EXIT_FLAG_PRIVATE ? 'private' : 'shared'} access)`;
    }
    case KVM_EXIT_SYSTEM_EVENT:
      return `${name}: type ${run.systemEventType}${run.systemEventNdata ? `, data[0] ${hex(run.systemEventData(0))}` : ''}`;
    case KVM_EXIT_INTERNAL_ERROR:
      return `${name}: suberror ${run.internalSuberror}`;
    default:
      return name;
  }
}
