/**
 * One TD's platform state: what arch/x86/kvm/vmx/tdx.c keeps in struct
 * kvm_tdx (the build state, the GPAW INIT_VM chose) and struct vcpu_tdx
 * (a MapGPA under way, a pending interrupt), with what the TDX module
 * tracks per page in the Secure EPT (accepted or pending, TDX module spec
 * "TDG.MEM.PAGE.ACCEPT") and the poison a host write leaves. The ioctls,
 * guest operations and model commands in this folder all act on it.
 */
import type { PlatformVmContext } from '../../../lib/kvm/model/platform.js';
import { GfnSet, GuestMapping, isPrivateAttr } from '../../../lib/platform/common.js';
import type { TdxHardware } from '../hardware.js';
import { TdxLaunch, type PopulateRules } from '../launch.js';

/** What a test may inspect of a TD (through `tdxVmState()`). */
export interface TdxVmState {
  readonly launch: TdxLaunch;
  readonly sharedBit: () => number;
}

/** A MapGPA one vCPU has under way (vcpu_tdx's map_gpa_next / map_gpa_end). */
export interface MapGpaProgress {
  next: bigint;
  end: bigint;
  toPrivate: boolean;
  /** At least one chunk went out: an interrupt is only checked between chunks. */
  started: boolean;
  error?: bigint;
}

export class TdxVm implements TdxVmState {
  /** kvm_gmem_populate()'s rules: the part's override, else the release's (7.0 dropped -EEXIST). */
  readonly rules: PopulateRules;
  readonly hostReadsZeros: boolean;
  readonly launch = new TdxLaunch();
  /** The part's GPAW until KVM_TDX_INIT_VM's CPUID picks the TD's own. */
  gpaw: number;
  /** The guest's own page tables: private or shared after its last MapGPA or ACCEPT. */
  readonly mapping = new GuestMapping();
  // Runs, not per-page sets: a zap of 2^24 pages must cost O(log n + runs).
  readonly accepted = new GfnSet();
  readonly poisoned = new GfnSet();
  readonly irqPending = new Set<number>();
  readonly progress = new Map<number, MapGpaProgress>();

  constructor(readonly ctx: PlatformVmContext, hw: TdxHardware) {
    this.rules = hw.populateRules ?? ctx.profile.populateRules;
    this.gpaw = hw.gpaw;
    this.hostReadsZeros = hw.hostRead === 'zeros';
  }

  readonly sharedBit = (): number => this.gpaw - 1;

  attrPrivate(gpa: bigint): boolean {
    return isPrivateAttr(this.ctx.attributes(gpa));
  }

  /** The GPA without the shared bit, as KVM hands it to userspace. */
  strip(gpa: bigint): bigint {
    return gpa & ~(1n << BigInt(this.sharedBit()));
  }

  /** Accepted by the TD, or added (and so accepted) by the launch. */
  isAccepted(gfn: bigint): boolean {
    return this.accepted.has(gfn) || this.launch.added.has(gfn);
  }
}

const states = new WeakMap<PlatformVmContext, TdxVmState>();

export function registerTdxVm(vm: TdxVm): void {
  states.set(vm.ctx, vm);
}

export function tdxVmState(ctx: PlatformVmContext): TdxVmState | undefined {
  return states.get(ctx);
}
