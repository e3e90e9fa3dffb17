/**
 * What the platforms' guest conversion protocols share (types.ts,
 * GuestConversion): every x86 platform's request reaches the VMM as
 * KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE) (arch/x86/kvm/x86.c,
 * complete_hypercall_exit()), answered in the hypercall's return value; the
 * raw hypercall is SW_PROTECTED's whole protocol. Each platform's own
 * protocol lives in its folder (platforms/<name>/conversion.ts).
 */
import type { KvmRun } from '../kvm/kvm_run.js';
import {
  KVM_EXIT_HYPERCALL, KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_DECRYPTED, KVM_MAP_GPA_RANGE_ENCRYPTED,
  KVM_MAP_GPA_RANGE_PAGE_SZ_1G, KVM_MAP_GPA_RANGE_PAGE_SZ_2M,
} from '../kvm/uapi.js';
import { gpa as asGpa } from '../kvm/addr.js';
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

/** Answer a MAP_GPA_RANGE request: its status is the hypercall's return value. */
export const hypercallComplete = (run: KvmRun, status: bigint): void => {
  run.hypercallRet = status;
};

/**
 * The raw KVM_HC_MAP_GPA_RANGE hypercall as the whole protocol (SW_PROTECTED):
 * KVM passes a2 through unchecked, so test flags ride along.
 */
export const rawMapGpaRangeConversion: GuestConversion = {
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
