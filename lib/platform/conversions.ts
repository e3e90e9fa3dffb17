/**
 * The guest conversion protocol of each behaviour, for generic tests
 * (types.ts, GuestConversion). All x86 platforms reach the VMM as
 * KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE); CCA as KVM_EXIT_MEMORY_FAULT.
 */
import type { KvmRun } from '../kvm/kvm_run.js';
import {
  KVM_EXIT_HYPERCALL, KVM_EXIT_MEMORY_FAULT, KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_DECRYPTED, KVM_MAP_GPA_RANGE_ENCRYPTED,
  KVM_MAP_GPA_RANGE_PAGE_SZ_1G, KVM_MAP_GPA_RANGE_PAGE_SZ_2M, KVM_MEMORY_EXIT_FLAG_PRIVATE,
} from '../kvm/uapi.js';
import { any, eq } from '../guest/builder.js';
import type { GuestReg } from '../kvm/guest_program.js';
import { TDX_PAGE_ALREADY_ACCEPTED, TDX_SUCCESS } from '../../platforms/tdx/uapi.js';
import { gpa as asGpa } from '../kvm_util/types.js';
import { PAGE } from './common.js';
import type { ConversionRequest, GuestConversion, PlatformOpSink } from './types.js';

function pageSizeOf(attrs: bigint): ConversionRequest['pageSize'] {
  if (attrs & KVM_MAP_GPA_RANGE_PAGE_SZ_1G) return 0x40000000;
  if (attrs & KVM_MAP_GPA_RANGE_PAGE_SZ_2M) return 0x200000;
  return 4096;
}

/** Decode KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE): a0 = gpa, a1 = pages, a2 = attributes. */
export function decodeMapGpaRange(run: KvmRun): ConversionRequest | null {
  if (run.exitReason !== KVM_EXIT_HYPERCALL || run.hypercallNr !== BigInt(KVM_HC_MAP_GPA_RANGE)) return null;
  const raw = run.hypercallArg(2);
  return { gpa: asGpa(run.hypercallArg(0)), size: run.hypercallArg(1) * PAGE, toPrivate: (raw & KVM_MAP_GPA_RANGE_ENCRYPTED) !== 0n, pageSize: pageSizeOf(raw), raw };
}

const hypercallComplete = (run: KvmRun, status: bigint): void => {
  run.hypercallRet = status;
};

/** SW_PROTECTED: the raw hypercall; KVM passes a2 through unchecked, so test flags ride along. */
export const swProtectedConversion: GuestConversion = {
  convert(g: PlatformOpSink, gpa, len, toPrivate, rawFlags = 0n) {
    const size = BigInt(len);
    g.hypercall(KVM_HC_MAP_GPA_RANGE, [gpa, size / PAGE, (toPrivate ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED) | rawFlags], { expect: 0n });
  },
  decodeExit: decodeMapGpaRange,
  complete: hypercallComplete,
  reacquire() {
    // A punched private page is faulted in fresh; nothing to do.
  },
  passesRawFlags: true,
  privateView: 'auto',
  sharedView: 'auto',
};

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
export function tdxConversion(sharedBit: number): GuestConversion {
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

/** SNP: rescind validation before →shared, GHCB PSC for the range, PVALIDATE after →private. */
export const snpConversion: GuestConversion = {
  convert(g, at, len, toPrivate) {
    const gpa = BigInt(at);
    const npages = BigInt(len) / PAGE;
    if (!toPrivate) g.platform('snp.pvalidate', { gpa, npages, size: '4K', validate: false, all: true }, { expect: 0n, expr: 'pvalidate(rescind) == 0' });
    const entries: string[] = [];
    for (let i = 0n; i < npages; i++) entries.push(`0x${(gpa / PAGE + i).toString(16)}:${toPrivate ? 'private' : 'shared'}:4K`);
    g.platform('snp.psc', { entries: entries.join(',') }, { expect: 0n, expr: 'snp_page_state_change() == 0' });
    if (toPrivate) g.platform('snp.pvalidate', { gpa, npages, size: '4K', validate: true, all: true }, { expect: 0n, expr: 'pvalidate() == 0' });
  },
  decodeExit: decodeMapGpaRange,
  complete: hypercallComplete,
  reacquire(g, gpa, len) {
    g.platform('snp.pvalidate', { gpa, npages: BigInt(len) / PAGE, size: '4K', validate: true, all: true }, { expect: 0n, expr: 'pvalidate() == 0' });
  },
  passesRawFlags: false,
  privateView: 'private',
  sharedView: 'shared',
};

/** CCA: RSI_IPA_STATE_SET exits as KVM_EXIT_MEMORY_FAULT; the attributes are the answer. */
export const ccaConversion: GuestConversion = {
  convert(g, at, len, toPrivate) {
    const gpa = BigInt(at);
    g.platform('cca.rsi_ipa_state_set', { base: gpa, top: gpa + BigInt(len), ripas: toPrivate ? 'ram' : 'empty' }, { expect: 0n, expr: 'rsi_ipa_state_set() == RSI_ACCEPT' });
  },
  decodeExit(run) {
    if (run.exitReason !== KVM_EXIT_MEMORY_FAULT) return null;
    const priv = (run.memoryFaultFlags & KVM_MEMORY_EXIT_FLAG_PRIVATE) !== 0n;
    return { gpa: asGpa(run.memoryFaultGpa), size: run.memoryFaultSize, toPrivate: priv, pageSize: 4096, raw: run.memoryFaultFlags };
  },
  complete() {
    // Nothing to write: the next KVM_RUN reads the attributes (RIPAS response).
  },
  reacquire() {
    // RIPAS stays RAM across a punch; KVM faults a fresh granule in.
  },
  passesRawFlags: false,
  privateView: 'private',
  sharedView: 'shared',
};
