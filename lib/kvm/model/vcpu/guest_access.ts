/**
 * One guest access within a page: the platform says whether the access is
 * private (the C-bit, the TDX shared bit, ...), the MMU faults the page in
 * (mmu.ts), and the bytes move through the platform's transform (memory
 * encryption as the guest sees it). A shared access to no memslot is
 * emulated MMIO (KVM_EXIT_MMIO); a memory fault is KVM_EXIT_MEMORY_FAULT.
 */

import type { SysResult } from '../../backend.js';
import type { GuestView, GuestWidth } from '../../guest_program.js';
import { KVM_MEMORY_EXIT_FLAG_PRIVATE, PAGE_SIZE } from '../../uapi.js';
import { KVM_INTERNAL_ERROR_EMULATION } from '../exits.js';
import type { GuestAccess, PlatformOpOutcome } from '../platform.js';
import type { Vcpu } from '../vcpu.js';
import { kvmMmuFaultIn } from './mmu.js';

const PAGE = BigInt(PAGE_SIZE);

/**
 * The access of `len` bytes at `gpa` (one page at most): the bytes read, or
 * the bytes written, or the exit that ends KVM_RUN. A scalar load/store
 * passes its width, which an MMIO exit carries.
 */
export function access(
  v: Vcpu, gpa: bigint, len: number, write: boolean, view: GuestView, data: Uint8Array | undefined, scalarWidth?: GuestWidth,
): { data: Uint8Array } | { exit: SysResult } {
  const vm = v.vm;
  const gfn = Number(gpa / PAGE);
  const pageGpa = BigInt(gfn) * PAGE;
  const a: GuestAccess = { gpa, len, write, view, vcpu: v.id };
  let isPrivate: boolean;
  try {
    isPrivate = vm.pvm.isPrivateAccess(a);
  } catch (e) {
    vm.sys.noteInternalError('isPrivateAccess', e);
    return v.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION }) as { exit: SysResult };
  }
  const before = vm.pvm.beforeGuestAccess;
  const r = kvmMmuFaultIn(vm, { gfn, isPrivate, write }, before && ((backing): { exit: SysResult } | undefined => {
    let o: PlatformOpOutcome | undefined;
    try {
      o = before.call(vm.pvm, a, backing);
    } catch (e) {
      vm.sys.noteInternalError('beforeGuestAccess', e);
      return v.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION }) as { exit: SysResult };
    }
    if (o && o.kind === 'exit') return { exit: v.finish(o.exit) };
    if (o && o.kind === 'fatal') return v.stop(o.exit ?? { reason: 'shutdown' }) as { exit: SysResult };
    return undefined;
  }));
  switch (r.kind) {
    case 'vendor':
      return r.result;
    case 'memory_fault':
      return { exit: v.finish({ reason: 'memory_fault', flags: r.private ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0n, gpa: pageGpa, size: PAGE }) };
    case 'emulate': {
      // kvm_handle_noslot_fault(): emulated MMIO, one exit per page access;
      // writes carry the first (up to 8) bytes, reads complete with what userspace leaves.
      // A scalar load/store is one emulated operand of its own width; a
      // `read` touches each page with one load, the widest of 8/4/2/1
      // bytes that fits (the guest agent's instruction).
      if (scalarWidth === undefined) v.memDone += len;
      const n = scalarWidth ?? (write ? Math.min(8, len) : widestLoad(len));
      return { exit: v.finish({ reason: 'mmio', physAddr: gpa, len: n, isWrite: write, data: data?.subarray(0, n) }) };
    }
    case 'mapped':
      break;
  }
  const { page, backing } = r;
  const inPage = Number(gpa % PAGE);
  if (data) {
    const stored = vm.pvm.encodeGuestWrite ? vm.pvm.encodeGuestWrite(a, backing, data) : data;
    page.store.touch(page.index).set(stored.subarray(0, len), inPage);
    return { data };
  }
  // A view, not a copy, unless the platform rewrites what the guest reads:
  // the callers only look at the bytes before the next access.
  const bytes = page.store.peek(page.index);
  return { data: vm.pvm.decodeGuestRead ? vm.pvm.decodeGuestRead(a, backing, bytes.slice(inPage, inPage + len)) : bytes.subarray(inPage, inPage + len) };
}

/** The widest x86 load of 8, 4, 2 or 1 bytes that fits in `len`. */
function widestLoad(len: number): number {
  return len >= 8 ? 8 : len >= 4 ? 4 : len >= 2 ? 2 : 1;
}
