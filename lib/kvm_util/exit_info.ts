/**
 * A vCPU's last exit in words, with what kvm_util knows beyond `struct
 * kvm_run`: an MMIO exit at a GPA no memslot covers is how KVM reports a
 * guest access outside guest memory (kvm_mmu_page_fault() finds no slot
 * and hands the access to the emulator, which exits to userspace as MMIO),
 * so the message says so instead of leaving a bare exit number.
 *
 * Also the value kinds of failure messages that kvm_util adds to errno
 * (lib/source/value_names.ts): exit reasons and ucall commands, with the
 * note that explains a UCALL_NONE: the exit the last getUcall() found
 * instead of a ucall.
 */
import { exitReasonName, exitText } from '../kvm/exit_text.js';
import { EXIT_REASON_NAMES, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO, KVM_MEM_GUEST_MEMFD, KVM_MEM_READONLY, UCALL_NONE } from '../kvm/uapi.js';
import { registerValueKind } from '../source/value_names.js';
import { pageStateMap } from './page_states.js';
import type { KvmVcpu } from './vm.js';

/**
 * `vCPU 0: KVM_EXIT_MMIO (6): write of 8 bytes at gpa 0xc0000000, outside
 * every memslot`: the vCPU's last exit and its payload.
 */
export function describeExit(vcpu: KvmVcpu): string {
  const run = vcpu.run;
  let text = `vCPU ${vcpu.id}: ${exitText(run)}`;
  if (run.exitReason === KVM_EXIT_MMIO) {
    const a = run.mmioPhysAddr;
    const slot = [...vcpu.vm.slotRecord.values()].find((s) => a >= s.gpa && a < s.gpa + s.size);
    if (!slot) text += ', outside every memslot (a guest access no memslot covers exits as MMIO)';
    else if (slot.flags & KVM_MEM_READONLY && run.mmioIsWrite) text += `, a write to read-only slot ${slot.slot}`;
    else {
      const gmem = slot.flags & KVM_MEM_GUEST_MEMFD ? `, guest_memfd${slot.hva ? '' : ' only (userspace_addr 0)'}` : '';
      text += `, inside slot ${slot.slot}${gmem}: KVM should have served it from memory`;
    }
  } else if (run.exitReason === KVM_EXIT_MEMORY_FAULT) {
    text += `; ${pageStateMap(vcpu.vm, run.memoryFaultGpa, 1, false)}`;
  }
  return text;
}

const UCALL_NAMES: Readonly<Record<number, string>> = {
  0: 'UCALL_NONE', 1: 'UCALL_SYNC', 2: 'UCALL_ABORT', 3: 'UCALL_PRINTF', 4: 'UCALL_DONE', 5: 'UCALL_UNHANDLED',
};

/** The last getUcall() that found no ucall: which exit it found instead. */
let lastMiss: string | undefined;

/** getUcall() notes what it found when the exit was not a ucall (undefined: it was one). */
export function noteUcallMiss(exit: string | undefined): void {
  lastMiss = exit;
}

registerValueKind({
  matches: (text) => /\bexitReason\b|\bexit_reason\b|\bKVM_EXIT_[A-Z_]+\b/.test(text),
  name: (v) => (EXIT_REASON_NAMES[Number(v)] !== undefined ? exitReasonName(Number(v)).replace(/ \(\d+\)$/, '') : undefined),
});

registerValueKind({
  matches: (text) => /\.cmd\b|\bUCALL_[A-Z]+\b|getUcall\(/.test(text),
  name: (v) => UCALL_NAMES[Number(v)],
  note: (v) => (Number(v) === UCALL_NONE && lastMiss ? `no ucall: the last getUcall() found ${lastMiss}` : undefined),
});
