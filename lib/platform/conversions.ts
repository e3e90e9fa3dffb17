/**
 * What the platforms' guest conversion protocols share (types.ts,
 * ConversionProtocol): every x86 platform's request reaches the VMM as
 * KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE) (arch/x86/kvm/x86.c,
 * complete_hypercall_exit()), answered in the hypercall's return value; the
 * raw hypercall is SW_PROTECTED's whole protocol. Each platform's own
 * protocol lives in its folder (platforms/<name>/conversion.ts).
 *
 * And the portable call on top (portableConversion(), GuestConversion):
 * the test's flags travel with every platform's request. Only the raw
 * hypercall has a word KVM hands to userspace unchecked (a2); MapGPA
 * (tdx_map_gpa() builds a2 itself), PSC (snp_begin_psc() likewise) and
 * RSI_IPA_STATE_SET (a memory-fault exit with KVM's flags) do not. There
 * the guest leaves a note first, a ucall the host's serving loop takes in
 * with conversionNote() before it decodes the exits that follow, so the
 * host loop is one code path on every platform.
 */
import type { KvmRun } from '../kvm/kvm_run.js';
import {
  KVM_EXIT_HYPERCALL, KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_DECRYPTED, KVM_MAP_GPA_RANGE_ENCRYPTED,
  KVM_EXIT_IO, KVM_MAP_GPA_RANGE_PAGE_SZ_1G, KVM_MAP_GPA_RANGE_PAGE_SZ_2M, UCALL_PIO_PORT,
} from '../kvm/uapi.js';
import { gpa as asGpa, type GpaArg } from '../kvm/addr.js';
import { PAGE } from './common.js';
import type { ConversionProtocol, ConversionRequest, GuestConversion, PlatformOpSink } from './types.js';

function pageSizeOf(attrs: bigint): ConversionRequest['pageSize'] {
  if (attrs & KVM_MAP_GPA_RANGE_PAGE_SZ_1G) return 0x40000000;
  if (attrs & KVM_MAP_GPA_RANGE_PAGE_SZ_2M) return 0x200000;
  return 4096;
}

/** Decode KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE): a0 = gpa, a1 = pages, a2 = attributes. */
export function decodeMapGpaRange(run: KvmRun): Omit<ConversionRequest, 'flags' | 'converts'> | null {
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
export const rawMapGpaRangeConversion: ConversionProtocol = {
  convert(g: PlatformOpSink, gpa, len, toPrivate, rawFlags = 0n) {
    const size = BigInt(len);
    g.hypercall(KVM_HC_MAP_GPA_RANGE, [gpa, size / PAGE, (toPrivate ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED) | rawFlags], { expect: 0n });
  },
  decodeExit(run) {
    const req = decodeMapGpaRange(run);
    // Everything in a2 but the direction is the test's.
    return req && { ...req, flags: req.raw & ~KVM_MAP_GPA_RANGE_ENCRYPTED };
  },
  complete: hypercallComplete,
  reacquire() {
    // A punched private page is faulted in fresh; nothing to do.
  },
  passesRawFlags: true,
  privateView: 'auto',
  sharedView: 'auto',
};

/**
 * The command of the note ucall: none of kselftest's UCALL_* (ucall_common.h
 * ends at UCALL_UNHANDLED), so a loop that does not serve conversions
 * fails on it as an unknown ucall instead of taking it for a GUEST_SYNC.
 */
export const UCALL_CONVERSION_NOTE = 0x434e56;
/** args[0] of the note: flags for the conversion call right after it. */
const NOTE_FLAGS = 0n;
/** args[0] of the note: a request of its own (GuestConversion.request()). */
const NOTE_REQUEST = 1n;

interface PendingFlags {
  readonly start: bigint;
  readonly end: bigint;
  readonly flags: bigint;
}

/**
 * Per vCPU (its kvm_run), the flags a note announced: they go with the
 * conversion exits of [start, end) that follow it (MapGPA exits in chunks,
 * PSC in runs), and end with the range or at any other exit, so a later
 * call without flags never inherits them.
 */
const pending = new WeakMap<KvmRun, PendingFlags>();

/**
 * The host's side of a note ucall: `args` are the ucall's args. Flags for
 * the coming conversion are kept for decodeExit() (null comes back, run
 * the vCPU again); a request of its own comes back decoded.
 */
export function conversionNote(run: KvmRun, args: readonly bigint[]): ConversionRequest | null {
  const [kind = 0n, at = 0n, size = 0n, flags = 0n] = args;
  if (kind === NOTE_REQUEST) {
    pending.delete(run);
    return { gpa: asGpa(at), size, toPrivate: false, pageSize: 4096, raw: 0n, flags, converts: false };
  }
  pending.set(run, { start: at, end: at + size, flags });
  return null;
}

/** Whether this exit is the ucall port (a note's, or any ucall's): nothing to complete there. */
const isUcallExit = (run: KvmRun): boolean => run.exitReason === KVM_EXIT_IO && run.ioPort === UCALL_PIO_PORT;

/** A platform's protocol as the portable call (types.ts, GuestConversion). */
export function portableConversion(p: ConversionProtocol): GuestConversion {
  const note = (g: PlatformOpSink, kind: bigint, at: GpaArg, len: bigint | number, flags: bigint): void =>
    g.ucall(UCALL_CONVERSION_NOTE, [kind, BigInt(at), BigInt(len), flags]);
  return {
    convert(g, gpa, len, toPrivate, flags) {
      if (flags !== undefined && !p.passesRawFlags) note(g, NOTE_FLAGS, gpa, len, flags);
      p.convert(g, gpa, len, toPrivate, p.passesRawFlags ? flags : undefined);
    },
    request(g, gpa, len, flags) {
      note(g, NOTE_REQUEST, gpa, len, flags);
    },
    decodeExit(run) {
      const req = p.decodeExit(run);
      const note = pending.get(run);
      if (!req) {
        pending.delete(run);
        return null;
      }
      let flags = req.flags ?? 0n;
      if (note && req.gpa >= note.start && req.gpa < note.end) {
        flags = note.flags;
        if (req.gpa + req.size >= note.end) pending.delete(run);
      } else {
        pending.delete(run);
      }
      return { ...req, flags, converts: true };
    },
    complete(run, status) {
      // A note's request came as a ucall: the guest's IN completes by itself.
      if (!isUcallExit(run)) p.complete(run, status);
    },
    reacquire: (g, gpa, len) => p.reacquire(g, gpa, len),
    passesRawFlags: p.passesRawFlags,
    privateView: p.privateView,
    sharedView: p.sharedView,
  };
}
