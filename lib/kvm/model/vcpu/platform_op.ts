/**
 * A platform instruction of the guest program (TDX TDCALL, SNP PVALIDATE /
 * GHCB, pKVM and CCA calls): the platform model executes it and says
 * whether the guest goes on, exits to userspace (to be resumed on the next
 * KVM_RUN) or stops. A platform without such instructions, or a hook that
 * throws, is KVM_EXIT_INTERNAL_ERROR (emulation): KVM cannot emulate it.
 */

import type { GuestOp } from '../../guest_program.js';
import { KVM_INTERNAL_ERROR_EMULATION } from '../exits.js';
import type { PlatformOpOutcome } from '../platform.js';
import type { Step, Vcpu } from '../vcpu.js';
import { expectFailed } from './ucall.js';

export function platformOp(v: Vcpu, op: Extract<GuestOp, { op: 'platform' }>): Step {
  if (!v.vm.pvm.guestOp) {
    // The platform has no such instruction: KVM cannot emulate it.
    return v.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION, data: [] });
  }
  let out: PlatformOpOutcome;
  try {
    out = v.vm.pvm.guestOp(v.ctx, op);
  } catch (e) {
    v.vm.sys.noteInternalError('guestOp', e);
    return v.stop({ reason: 'internal_error', suberror: KVM_INTERNAL_ERROR_EMULATION, data: [] });
  }
  return outcome(v, out, op);
}

function outcome(v: Vcpu, out: PlatformOpOutcome, op: Extract<GuestOp, { op: 'platform' }>): Step {
  switch (out.kind) {
    case 'done':
      v.advance();
      if (op.dst && out.status !== undefined) v.gregs[op.dst.reg] = out.status;
      if (op.expect !== undefined && out.status !== undefined && out.status !== BigInt.asUintN(64, op.expect)) {
        return expectFailed(v, op.loc, op.expr, out.status, op.expect);
      }
      return undefined;
    case 'exit':
      if (!out.retry) v.pending = { kind: 'platform', resume: out.resume, expect: op.expect, ...(op.dst ? { dst: op.dst } : {}), expr: op.expr, loc: op.loc };
      else if (out.resume) v.pending = { kind: 'platform', resume: out.resume, again: true, expr: op.expr, loc: op.loc };
      return { exit: v.finish(out.exit) };
    case 'fatal':
      return v.stop(out.exit ?? { reason: 'shutdown' });
  }
}
