/**
 * The RFC question of the 2022 fd-based private memory threads: how does a
 * launch payload get into private memory under each memory policy?
 *
 * - `inaccessible`: the private fd is never mappable or writable by the VMM
 *   (MFD_INACCESSIBLE); nothing copies into it for the VMM either.
 * - `shareable-until-launch`: the VMM may map and write the private fd until
 *   the launch measurement, then loses access for good.
 * - `source-copy`: inaccessible to the VMM, but the kernel copies a source
 *   buffer in (kvm_gmem_populate(), as SNP, TDX and CCA do).
 *
 * and the launch flows:
 * - `in-place` (SEV, SEV-ES): the VMM writes plaintext where the guest will
 *   run, the firmware encrypts it there (LAUNCH_UPDATE_DATA at an HVA);
 * - `populate` (SNP, TDX, CCA): the VMM hands a source buffer to the kernel;
 * - `write-before-run` (pKVM): the VMM writes its memory before the first
 *   run; the guest's first fault donates the page.
 *
 * `runLaunch()` plays a flow against a policy step by step and reports the
 * first step that fails, so the matrix in tests/coco/sev shows which
 * combination works and why.
 */
export type MemoryPolicy = 'inaccessible' | 'shareable-until-launch' | 'source-copy';
export type LaunchFlow = 'in-place' | 'populate' | 'write-before-run';

export const MEMORY_POLICIES: readonly MemoryPolicy[] = ['inaccessible', 'shareable-until-launch', 'source-copy'];
export const LAUNCH_FLOWS: readonly LaunchFlow[] = ['in-place', 'populate', 'write-before-run'];

export type StepResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const OK: StepResult = { ok: true };

/** One private fd under a policy: who may touch it, and when. */
export class PrivateFd {
  private launched = false;
  readonly bytes: Uint8Array;

  constructor(readonly policy: MemoryPolicy, size = 4096) {
    this.bytes = new Uint8Array(size);
  }

  /** The VMM maps and writes the fd (mmap + store). */
  vmmWrite(off: number, data: Uint8Array): StepResult {
    if (this.policy !== 'shareable-until-launch') return { ok: false, reason: `${this.policy}: the VMM cannot map the private fd` };
    if (this.launched) return { ok: false, reason: 'shareable-until-launch: access ended at the launch measurement' };
    this.bytes.set(data, off);
    return OK;
  }

  /** The kernel copies a source buffer in on the VMM's behalf (populate). */
  kernelCopyIn(off: number, src: Uint8Array): StepResult {
    if (this.policy === 'inaccessible') return { ok: false, reason: 'inaccessible: no interface copies into the private fd' };
    if (this.launched) return { ok: false, reason: 'populate after launch is refused' };
    this.bytes.set(src, off);
    return OK;
  }

  /** The firmware encrypts in place what is already there and measures it. */
  encryptInPlace(off: number, len: number): StepResult & { measured?: Uint8Array } {
    if (this.launched) return { ok: false, reason: 'launch already finished' };
    return { ok: true, measured: this.bytes.slice(off, off + len) };
  }

  /** The launch measurement: after it, a shareable fd is closed to the VMM. */
  measure(): void {
    this.launched = true;
  }
}

export interface LaunchOutcome {
  readonly policy: MemoryPolicy;
  readonly flow: LaunchFlow;
  readonly ok: boolean;
  /** What failed, or what the guest would see on success. */
  readonly detail: string;
  /** The VMM still has write access after launch (it must not). */
  readonly vmmWritableAfterLaunch: boolean;
}

/** Play `flow` under `policy` with `payload` and report whether the guest starts with it. */
export function runLaunch(policy: MemoryPolicy, flow: LaunchFlow, payload: Uint8Array): LaunchOutcome {
  const fd = new PrivateFd(policy, payload.length);
  const fail = (reason: string): LaunchOutcome => ({ policy, flow, ok: false, detail: reason, vmmWritableAfterLaunch: false });
  switch (flow) {
    case 'in-place': {
      const w = fd.vmmWrite(0, payload);
      if (!w.ok) return fail(`LAUNCH_UPDATE_DATA never starts: ${w.reason}`);
      const e = fd.encryptInPlace(0, payload.length);
      if (!e.ok) return fail(e.reason);
      break;
    }
    case 'populate': {
      const c = fd.kernelCopyIn(0, payload);
      if (!c.ok) return fail(c.reason);
      break;
    }
    case 'write-before-run': {
      const w = fd.vmmWrite(0, payload);
      if (!w.ok) return fail(`the payload cannot be written before the first run: ${w.reason}`);
      break;
    }
  }
  fd.measure();
  const same = fd.bytes.every((b, i) => b === payload[i]);
  const after = fd.vmmWrite(0, new Uint8Array(1));
  return { policy, flow, ok: same, detail: same ? 'guest starts with the payload' : 'payload lost', vmmWritableAfterLaunch: after.ok };
}
