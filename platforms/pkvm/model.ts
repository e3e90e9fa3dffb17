/**
 * pKVM protected guests inside the model, as merged in 7.1
 * (KVM_VM_TYPE_ARM_PROTECTED; arch/arm64/kvm/pkvm.c,
 * arch/arm64/kvm/hyp/nvhe/mem_protect.c; reference/platforms.md §2.5).
 *
 * No marker, no KVM attributes and no guest_memfd: guest memory is the VMM's
 * anonymous memory, pinned, and each page is donated to the guest at the
 * guest's first stage-2 fault (pkvm_pgtable_stage2_map() →
 * __pkvm_host_donate_guest(), content kept). After that an access by the VMM
 * (EL0) takes a host stage-2 fault that EL2 turns into SIGSEGV (SEGV_ACCERR)
 * ("KVM: arm64: Inject SIGSEGV on illegal accesses"). An access by the host
 * *kernel* instead makes the host force-reclaim the page
 * (__pkvm_host_force_reclaim_page_guest()): it is cleared, the guest's entry
 * poisoned and the page returned to the host; the guest's next access to it
 * makes KVM_RUN fail with -EFAULT (pkvm_mem_abort() →
 * __pkvm_vcpu_in_poison_fault(), "Return -EFAULT from VCPU_RUN on access to
 * a poisoned pte"), every time, until teardown. The guest shares and
 * unshares pages with HVCs that EL2 handles synchronously — no exit reaches
 * the VMM (__pkvm_guest_share_host() / __pkvm_guest_unshare_host()). A
 * relinquished page [A], and every guest page at teardown, is zeroed before
 * the host gets it back (hyp_poison_page()).
 */
import type { IoctlArg, SysResult } from '../../lib/kvm/backend.js';
import { EFAULT, EINVAL } from '../../lib/kvm/errno.js';
import { KVM_PKVM_MODEL_HOST_KERNEL_ACCESS } from './uapi.js';
import type { PlatformOpOutcome, PlatformVm, PlatformVmContext } from '../../lib/kvm/model/platform.js';
import type { PlatformModel } from '../../lib/platform/types.js';
import { PAGE, gfnOf, pageBase } from '../../lib/platform/common.js';
import type { PkvmHardware } from './hardware.js';

/** SMCCC return values the guest sees in x0. */
export const SMCCC_RET_SUCCESS = 0n;
export const SMCCC_RET_NOT_SUPPORTED = BigInt.asUintN(64, -1n);
export const SMCCC_RET_INVALID_PARAMETER = BigInt.asUintN(64, -3n);

/** owned: donated to the guest; shared: MEM_SHARE'd back; poisoned: force-reclaimed, the host's again. */
export type PkvmPageState = 'owned' | 'shared' | 'poisoned';

export interface PkvmVmState {
  readonly pages: ReadonlyMap<bigint, PkvmPageState>;
  /** MEM_SHAREs that first had to fault the page in (the data-abort path [A]). */
  readonly faultIns: () => number;
}

const states = new WeakMap<PlatformVmContext, PkvmVmState>();
export function pkvmVmState(ctx: PlatformVmContext): PkvmVmState | undefined {
  return states.get(ctx);
}

export function createPkvmModel(hw: PkvmHardware): PlatformModel {
  const signal = hw.hostAccessSignal;
  return {
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
          // A poisoned entry: the run fails with -EFAULT and the access is retried on the next KVM_RUN.
          if (pages.get(gfnOf(a.gpa)) === 'poisoned') return { kind: 'exit', exit: { reason: 'error', errno: EFAULT }, retry: true };
          // The first stage-2 fault donates the page to the guest.
          donate(a.gpa);
          return undefined;
        },
        vmIoctl(request: number, arg: IoctlArg | undefined): SysResult | undefined {
          if (request !== KVM_PKVM_MODEL_HOST_KERNEL_ACCESS) return undefined;
          if (typeof arg !== 'bigint' && typeof arg !== 'number') return { ret: -1, errno: EINVAL };
          const gfn = gfnOf(BigInt(arg));
          // Only a page the guest owns faults; a shared or host page is simply accessed.
          if (pages.get(gfn) === 'owned') {
            zero(gfn);
            pages.set(gfn, 'poisoned');
          }
          return { ret: 0, errno: 0 };
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
              if (!pages.has(gfn) || pages.get(gfn) === 'poisoned') return { kind: 'done', status: SMCCC_RET_INVALID_PARAMETER };
              zero(gfn);
              pages.delete(gfn);
              return { kind: 'done', status: SMCCC_RET_SUCCESS };
            default:
              return { kind: 'done', status: BigInt.asUintN(64, BigInt(-EINVAL)) };
          }
        },
        onDestroy() {
          // Teardown reclaims every guest page, zeroed (a poisoned one is the host's already).
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
