/**
 * One SEV or SEV-ES VM's platform state: what arch/x86/kvm/svm/sev.c keeps
 * in struct kvm_sev_info (the launch and its firmware context, the
 * ES flag), the VM's memory encryption key, and the guest's own C-bit per
 * page, with the host pages the launch encrypted in place (which the
 * guest maps C=1 from the start).
 */
import type { GuestAccess, PlatformVmContext } from '../../../lib/kvm/model/platform.js';
import { GuestMapping, pageBase } from '../../../lib/platform/common.js';
import { SevCipher } from '../cipher.js';
import type { SevHardware } from '../hardware.js';
import { SevLaunch } from '../launch.js';

/** State of one SEV VM, reachable by tests through `sevVmState()`. */
export interface SevVmState {
  readonly launch: SevLaunch;
  readonly cipher: SevCipher;
}

// Each VM's key is its own even when the part's seed makes keys reproducible.
let vmSerial = 0;

export class SevVm implements SevVmState {
  readonly cipher: SevCipher;
  readonly launch: SevLaunch;
  /** The guest's C-bit per page, after its last `sev.set_cbit`. */
  readonly cbit = new GuestMapping();
  /** Host pages the launch encrypted: the guest maps them C=1. */
  readonly encryptedHva = new Set<bigint>();

  constructor(readonly ctx: PlatformVmContext, readonly es: boolean, hw: SevHardware) {
    this.cipher = hw.keySeed !== undefined ? SevCipher.fromSeed(`${hw.keySeed}:${vmSerial++}`) : SevCipher.random();
    this.launch = new SevLaunch(es, undefined, BigInt(hw.vmsaFeatures));
  }

  hvaOf(gpa: bigint): bigint | undefined {
    const s = this.ctx.slotAt(gpa);
    return s ? s.userspaceAddr + (gpa - s.gpa) : undefined;
  }

  cbitSet(a: GuestAccess): boolean {
    return this.cbit.resolve(a.view, a.gpa, () => {
      const hva = this.hvaOf(a.gpa);
      return hva !== undefined && this.encryptedHva.has(pageBase(hva));
    });
  }
}

const states = new WeakMap<PlatformVmContext, SevVmState>();

export function registerSevVm(vm: SevVm): void {
  states.set(vm.ctx, vm);
}

export function sevVmState(ctx: PlatformVmContext): SevVmState | undefined {
  return states.get(ctx);
}
