/**
 * Visibility assertions: what the guest and the host see at a GPA.
 *
 * - expectGuestSees(g, gpa, size, pattern): records a guest check op (the
 *   guest's memcmp_g); a mismatch comes back as UCALL_ABORT and
 *   REPORT_GUEST_ASSERT prints it with the page-state map.
 * - expectHostSees(vm, gpa, size, pattern): the host's memcmp_h through the
 *   slot's shared HVA, right now.
 *
 * Both report the first mismatching offset, its GPA, expected and actual
 * bytes in hex, which side looked, and the page states around it. The
 * comparison is over whole typed arrays; bytes are walked only to locate a
 * mismatch already found. The host compares where the bytes lie
 * (Backend.hostCompare), so a large range costs no copy of itself.
 */
import { HostFault } from '../kvm/backend.js';
import { patternBuffer } from '../kvm/pattern_bytes.js';
import type { GuestBuilder } from '../guest/builder.js';
import type { GuestView } from '../kvm/guest_program.js';
import { failureSite, testAssertFail } from './assert.js';
import { addrGpa2Hva } from './memslots.js';
import { pageStateMap } from './page_states.js';
import { hostCompare, hostRead } from './syscalls.js';
import { hex, type GpaArg, type GuestAddrArg } from './types.js';
import type { KvmVm } from './vm.js';
import type { Num } from '../libc/int.js';

/** Index of the first byte of `a` that differs from `value`, or -1 (whole-array compare first). */
export function firstMismatch(a: Uint8Array, value: number): number {
  const expected = patternBuffer(value, a.length);
  if (expected.compare(a, 0, a.length, 0, a.length) === 0) return -1;
  // Narrow down by halves with whole-array compares, then the last few bytes.
  let lo = 0;
  let hi = a.length;
  while (hi - lo > 64) {
    const mid = lo + ((hi - lo) >> 1);
    if (expected.compare(a, lo, mid, lo, mid) !== 0) hi = mid;
    else lo = mid;
  }
  for (let i = lo; i < hi; i++) if (a[i] !== value) return i;
  return -1;
}

const b2 = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;

/** The bytes around a mismatch, in hex: `actual[off..off+8): 22 22 11 11 ...`. */
function bytesAround(a: Uint8Array, off: number): string {
  const end = Math.min(a.length, off + 8);
  return Array.from(a.subarray(off, end), (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/**
 * The guest's memcmp_g, recorded into guest code: when the guest runs it,
 * every byte of [gpa, gpa+size) must be `pattern`, else a UCALL_ABORT that
 * REPORT_GUEST_ASSERT (and runToUcall) print at this line, with the first
 * mismatching offset and the page states around it.
 *
 * @example
 * ```ts
 * const { vcpu } = cocoVmCreate('sw_protected', (g, base) => {
 *   g.memset(base, 4096, 0x11);
 *   expectGuestSees(g, base, 4096, 0x11);
 *   g.done();
 * });
 * await runToUcall(vcpu, UCALL_DONE);
 * ```
 */
export function expectGuestSees(g: GuestBuilder, gpa: GuestAddrArg, size: Num, pattern: number, view: GuestView = 'auto'): void {
  g.memcmp(gpa, size, pattern, { view, expr: `guest sees ${b2(pattern & 0xff)} at [${hex(gpa)}, ${hex(BigInt(gpa) + BigInt(size))})` });
}

/**
 * The host's memcmp_h: every byte of [gpa, gpa+size) read through the
 * slot's shared HVA must be `pattern`; otherwise the assertion block
 * (exit 254) names the first mismatch and the page states around it.
 */
export function expectHostSees(vm: KvmVm, gpa: GpaArg, size: Num, pattern: number): void {
  const base = BigInt(gpa);
  const want = pattern & 0xff;
  const expr = `host sees ${b2(want)} at [${hex(base)}, ${hex(base + BigInt(size))})`;
  const hva = addrGpa2Hva(vm, base);
  let off: number;
  try {
    off = hostCompare(hva, Number(size), want);
  } catch (e) {
    if (!(e instanceof HostFault)) throw e;
    const at = e.addr - hva + base;
    testAssertFail(failureSite(['lib/kvm_util/visibility.ts']), expr,
      `Host read of gpa ${hex(at)} (hva ${hex(e.addr)}) took ${e.signal} (${e.code}) (host side, via the shared HVA)\n  ${pageStateMap(vm, at)}`);
  }
  if (off < 0) return;
  const at = base + BigInt(off);
  // Only the bytes around the mismatch are copied out, for the report.
  const around = hostRead(hva + BigInt(off), Math.min(8, Number(size) - off));
  testAssertFail(failureSite(['lib/kvm_util/visibility.ts']), expr,
    `Host expected ${b2(want)} at offset ${hex(off)} (gpa ${hex(at)}), got ${b2(around[0]!)} (host side, via the shared HVA ${hex(hva + BigInt(off))})\n` +
    `  bytes at gpa ${hex(at)}: ${bytesAround(around, 0)}\n  ${pageStateMap(vm, at)}`);
}
