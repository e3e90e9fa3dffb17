/**
 * TDX guest operations for test programs (the TD side of
 * arch/x86/coco/tdx/tdx.c): each records one `platform` op that the TDX
 * behaviour executes as the TDX module and KVM would.
 */
import type { GuestBuilder } from '../../lib/guest/builder.js';
import { TDVMCALL_STATUS_SUCCESS, TDX_SUCCESS } from './uapi.js';
import type { Num } from '../../lib/libc/int.js';

interface Expect {
  readonly expect?: bigint;
}

/** TDG.VP.VMCALL<MapGPA>(gpa, size): set `shared` to convert to shared (the shared bit goes on the GPA). */
export function tdxMapGpa(g: GuestBuilder, gpa: Num, size: Num, opts: Expect & { shared?: boolean; sharedBit?: number } = {}): void {
  const bit = 1n << BigInt(opts.sharedBit ?? 47);
  const a = opts.shared ? BigInt(gpa) | bit : BigInt(gpa);
  g.platform('tdx.map_gpa', { gpa: a, size: BigInt(size) }, { expect: opts.expect ?? TDVMCALL_STATUS_SUCCESS, expr: 'tdg_vp_vmcall_map_gpa() status' });
}

/** Re-issue MapGPA from the GPA the last RETRY returned in R11. */
export function tdxMapGpaResume(g: GuestBuilder, opts: Expect = {}): void {
  g.platform('tdx.map_gpa_resume', {}, { expect: opts.expect ?? TDVMCALL_STATUS_SUCCESS, expr: 'tdg_vp_vmcall_map_gpa(r11) status' });
}

/** TDG.MEM.PAGE.ACCEPT over [gpa, gpa+size) at `level`. */
export function tdxAccept(g: GuestBuilder, gpa: Num, size: Num, opts: Expect & { level?: '4K' | '2M' } = {}): void {
  g.platform('tdx.accept', { gpa: BigInt(gpa), size: BigInt(size), level: opts.level ?? '4K' }, { expect: opts.expect ?? TDX_SUCCESS, expr: 'tdg_mem_page_accept() status' });
}
