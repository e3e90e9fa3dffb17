/** TDX's guest conversion protocol (lib/platform/types.ts, ConversionProtocol). */
import { any, eq } from '../../lib/guest/builder.js';
import type { GuestReg } from '../../lib/kvm/guest_program.js';
import { decodeMapGpaRange, hypercallComplete } from '../../lib/platform/conversions.js';
import type { ConversionProtocol, PlatformOpSink } from '../../lib/platform/types.js';
import { TDX_PAGE_ALREADY_ACCEPTED, TDX_SUCCESS } from './uapi.js';

/**
 * TDG.MEM.PAGE.ACCEPT of a range the guest may hold accepted already: a
 * conversion to private of a range that is private is a no-op for KVM
 * (kvm_vm_set_mem_attributes() and, in place, kvm_gmem_set_attributes()
 * return early without unmapping), so the S-EPT leaves stay and the TDX
 * module answers TDX_PAGE_ALREADY_ACCEPTED. Firmware tolerates that status
 * (OVMF's TdxLib counts the duplicated pages); so does this guest.
 * The status lands in one register per program, allocated on first use.
 */
function tdxAccept(g: PlatformOpSink, gpa: bigint, size: bigint): void {
  let st = acceptStatus.get(g);
  if (!st) {
    st = g.reg();
    acceptStatus.set(g, st);
  }
  g.platform('tdx.accept', { gpa, size, level: '4K' }, { dst: st });
  g.assert(any(eq(st, TDX_SUCCESS), eq(st, TDX_PAGE_ALREADY_ACCEPTED)),
    'tdg_mem_page_accept() == TDX_SUCCESS || TDX_PAGE_ALREADY_ACCEPTED', '%#lx (tdg_mem_page_accept())', st);
}
const acceptStatus = new WeakMap<PlatformOpSink, GuestReg>();

/** TDX: MapGPA (shared bit set for →shared), then ACCEPT every page after →private. */
export function tdxConversion(sharedBit: number): ConversionProtocol {
  const bit = 1n << BigInt(sharedBit);
  return {
    convert(g, at, len, toPrivate) {
      const gpa = BigInt(at);
      const size = BigInt(len);
      g.platform('tdx.map_gpa', { gpa: toPrivate ? gpa : gpa | bit, size }, { expect: 0n, expr: 'tdvmcall_map_gpa() == TDVMCALL_STATUS_SUCCESS' });
      if (toPrivate) tdxAccept(g, gpa, size);
    },
    decodeExit: decodeMapGpaRange,
    complete: hypercallComplete,
    reacquire(g, gpa, len) {
      tdxAccept(g, BigInt(gpa), BigInt(len));
    },
    passesRawFlags: false,
    privateView: 'private',
    sharedView: 'shared',
  };
}

