/**
 * The x86 PIO ucall of the selftests' library
 * (tools/testing/selftests/kvm/lib/x86/ucall.c): the guest writes struct
 * ucall, puts its address in RDI and does `in` on UCALL_PIO_PORT, which
 * exits as KVM_EXIT_IO. A GUEST_ASSERT failure is a UCALL_ABORT the vCPU
 * does not run past.
 */

import {
  expectMismatchFormat, formatGuestMessage, type SourceLoc,
} from '../../guest_program.js';
import {
  KVM_EXIT_IO_IN, PAGE_SIZE, UCALL_ABORT, UCALL_BUFFER_LEN, UCALL_MAX_ARGS, UCALL_PIO_PORT,
} from '../../uapi.js';
import type { SysResult } from '../../backend.js';
import { ucall } from '../../structs.js';
import { isFault } from '../host_as.js';
import type { Step, Vcpu } from '../vcpu.js';

const PAGE = BigInt(PAGE_SIZE);

/**
 * Where the model puts a vCPU's struct ucall when the program does not say
 * (`GuestProgram.ucallGpa`): one page per vCPU from GPA 0x10000.
 */
export function defaultUcallGpa(vcpuId: number): bigint {
  return 0x10000n + BigInt(vcpuId) * PAGE;
}

/** The GPA of this vCPU's struct ucall. */
export function ucallGpa(v: Vcpu): bigint {
  return v.program?.ucallGpa ?? defaultUcallGpa(v.id);
}

/** The x86 PIO ucall: RDI = &uc, `in` on UCALL_PIO_PORT → KVM_EXIT_IO (IN, 1 byte, data at run + 4096). */
export function pio(v: Vcpu, gpa: bigint): SysResult {
  v.setReg('rdi', gpa);
  v.pending = { kind: 'pio' };
  return v.finish({ reason: 'io', direction: KVM_EXIT_IO_IN, size: 1, port: UCALL_PIO_PORT, count: 1 });
}

/**
 * Write struct ucall {cmd, args[7], buffer[1024], hva} at `gpa` through the
 * shared backing of the slot covering it (userspace_addr, or the gmem of a
 * GMEM_ONLY slot). Bytes that land nowhere are dropped; the host then fails
 * to read the struct, as it would in C.
 */
export function writeUcall(v: Vcpu, gpa: bigint, cmd: number, args: readonly bigint[], text: string): void {
  const t = new TextEncoder().encode(text).subarray(0, UCALL_BUFFER_LEN - 1);
  const slot = v.vm.slots.find(0, Number(gpa / PAGE));
  const hva = slot && !slot.gmemOnly ? slot.userspaceAddr + gpa - BigInt(slot.baseGfn) * PAGE : 0n;
  const uc = ucall.encode({ cmd, args: args.slice(0, UCALL_MAX_ARGS), buffer: Array.from(t), hva });
  for (let done = 0; done < uc.length;) {
    const at = gpa + BigInt(done);
    const inPage = Number(at % PAGE);
    const chunk = Math.min(uc.length - done, PAGE_SIZE - inPage);
    const r = v.vm.backingPage(Number(at / PAGE), 'shared', true);
    if (r && !isFault(r)) r.store.touch(r.index).set(uc.subarray(done, done + chunk), inPage);
    done += chunk;
  }
}

/**
 * GUEST_ASSERT failure: UCALL_ABORT with args {0, 0, line} and the buffer
 * `<file>:<line>: <expr>` followed by a newline and the detail. The vCPU
 * does not continue past an abort.
 */
export function guestAssert(v: Vcpu, loc: SourceLoc, expr: string, detail: string): Step {
  const gpa = ucallGpa(v);
  writeUcall(v, gpa, UCALL_ABORT, [0n, 0n, BigInt(loc.line)], `${loc.file}:${loc.line}: ${expr}${detail ? `\n${detail}` : ''}`);
  v.stopped = { reason: 'shutdown' };
  return { exit: pio(v, gpa) };
}

/** A hypercall or platform status that is not the expected one: `0x.. != 0x.. (expr)`. */
export function expectFailed(v: Vcpu, loc: SourceLoc, expr: string, got: bigint, want: bigint): Step {
  return guestAssert(v, loc, expr, formatGuestMessage(expectMismatchFormat(expr), [got, want]));
}
