/**
 * pKVM protected guests inside the model (reference/platforms.md §2.5).
 *
 * No marker and no KVM attributes: every guest page is the VMM's anonymous
 * memory until the guest's first stage-2 fault donates it to the guest
 * (content kept), after which a host access takes a stage-2 fault and EL0
 * gets SIGSEGV (SEGV_ACCERR). The guest shares and unshares pages with HVCs
 * that EL2 handles synchronously — no exit reaches the VMM
 * (__pkvm_guest_share_host() / __pkvm_guest_unshare_host()). A relinquished
 * page, and every guest page at teardown, is zeroed before the host gets it
 * back (hyp_poison_page()).
 */
import { EINVAL } from '../../lib/kvm/errno.js';
import type { ModelPlatform, PlatformOpOutcome, PlatformVm, PlatformVmContext } from '../../lib/kvm/model/platform.js';
import { PAGE, gfnOf, pageBase } from '../../lib/platform/common.js';
import type { HardwareParams } from '../../lib/platform/manifest.js';

/** SMCCC return values the guest sees in x0. */
export const SMCCC_RET_SUCCESS = 0n;
export const SMCCC_RET_NOT_SUPPORTED = BigInt.asUintN(64, -1n);
export const SMCCC_RET_INVALID_PARAMETER = BigInt.asUintN(64, -3n);

export type PkvmPageState = 'owned' | 'shared';

export interface PkvmVmState {
  readonly pages: ReadonlyMap<bigint, PkvmPageState>;
  /** MEM_SHAREs that first had to fault the page in (the data-abort path [A]). */
  readonly faultIns: () => number;
}

const states = new WeakMap<PlatformVmContext, PkvmVmState>();
export function pkvmVmState(ctx: PlatformVmContext): PkvmVmState | undefined {
  return states.get(ctx);
}

export function createPkvmModel(hw: HardwareParams): ModelPlatform {
  const signal = hw.hostAccessSignal === 'SIGBUS' ? 'SIGBUS' : 'SIGSEGV';
  return {
    name: 'pkvm',
    hasPrivateMem: false,
    preFault: false,
    attach(ctx: PlatformVmContext): PlatformVm {
      const pages = new Map<bigint, PkvmPageState>();
      /** The VMM's HVA of each donated page, kept so teardown can zero it after the memslots are gone. */
      const hvaOf = new Map<bigint, bigint>();
      let faultIns = 0;
      states.set(ctx, { pages, faultIns: () => faultIns });
      const zero = (gfn: bigint): void => {
        ctx.writeBacking(gfn * PAGE, new Uint8Array(Number(PAGE)), 'shared');
      };
      const donate = (gpa: bigint): boolean => {
        const gfn = gfnOf(gpa);
        if (pages.has(gfn)) return true;
        const slot = ctx.slotAt(gpa);
        if (!slot) return false;
        pages.set(gfn, 'owned');
        hvaOf.set(gfn, slot.userspaceAddr + (gfn * PAGE - slot.gpa));
        return true;
      };
      return {
        isPrivateAccess: () => false,
        beforeGuestAccess(a) {
          // The first stage-2 fault donates the page to the guest.
          donate(a.gpa);
          return undefined;
        },
        hostAccess(access) {
          const st = pages.get(gfnOf(access.gpa));
          return st === 'owned' ? { signal, code: signal === 'SIGSEGV' ? 'SEGV_ACCERR' : 'BUS_OBJERR', detail: 'host stage-2 fault on a guest-owned page' } : undefined;
        },
        guestOp(_vcpu, op): PlatformOpOutcome {
          const ipa = pageBase(BigInt((op.args.ipa ?? 0n) as bigint | number));
          const gfn = gfnOf(ipa);
          switch (op.call) {
            case 'pkvm.hyp_meminfo':
              return { kind: 'done', status: PAGE };
            case 'pkvm.mem_share': {
              if (!pages.has(gfn)) {
                // Not yet donated: the HVC becomes a data abort, the host faults
                // the page in, and the share completes on return [A].
                if (!donate(ipa)) return { kind: 'done', status: SMCCC_RET_INVALID_PARAMETER };
                faultIns++;
              }
              if (pages.get(gfn) !== 'owned') return { kind: 'done', status: SMCCC_RET_INVALID_PARAMETER };
              pages.set(gfn, 'shared');
              return { kind: 'done', status: SMCCC_RET_SUCCESS };
            }
            case 'pkvm.mem_unshare':
              if (pages.get(gfn) !== 'shared') return { kind: 'done', status: SMCCC_RET_INVALID_PARAMETER };
              pages.set(gfn, 'owned');
              return { kind: 'done', status: SMCCC_RET_SUCCESS };
            case 'pkvm.mem_relinquish':
              // [A] __pkvm_guest_relinquish_to_host(): zeroed, then back to the host.
              if (!pages.has(gfn)) return { kind: 'done', status: SMCCC_RET_INVALID_PARAMETER };
              zero(gfn);
              pages.delete(gfn);
              return { kind: 'done', status: SMCCC_RET_SUCCESS };
            default:
              return { kind: 'done', status: BigInt.asUintN(64, BigInt(-EINVAL)) };
          }
        },
        onDestroy() {
          // Teardown reclaims every guest page, zeroed.
          for (const [gfn, st] of pages) {
            const hva = hvaOf.get(gfn);
            if (st === 'owned' && hva !== undefined) ctx.hostWrite?.(hva, new Uint8Array(Number(PAGE)));
          }
          pages.clear();
        },
      };
    },
  };
}
