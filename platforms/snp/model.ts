/**
 * SEV-SNP inside the model (reference/platforms.md §2.4), assembled from
 * model/ the way arch/x86/kvm/svm/sev.c divides it:
 *
 * - Marker: the C-bit, as for TDX's shared bit but inverted; `auto` follows
 *   the guest's own page tables after its last page-state change.
 * - Conversion (model/guest_ops.ts): `snp.psc_msr` (one 4K page, GHCB MSR
 *   protocol) and `snp.psc` (a GHCB list of {gfn, op, 2M?}) become
 *   KVM_EXIT_HYPERCALL(MAP_GPA_RANGE), one exit per run of contiguous
 *   entries with the same op and size (snp_begin_psc()), PAGE_SZ_2M where
 *   it applies. A non-zero hypercall.ret gives GHCB_MSR_PSC_RESP_ERROR /
 *   VMGEXIT_PSC_ERROR_GENERIC.
 * - RMP (model/gmem.ts): the first private fault assigns the page
 *   (sev_gmem_prepare(), not validated); the guest must `snp.pvalidate` it
 *   before use, else #VC [H], which the guest turns into a termination
 *   request. A 4K PVALIDATE inside a 2M entry is resolved by KVM with
 *   PSMASH (sev_handle_rmp_fault()).
 * - Launch (model/ioctls.ts, model/launch_update.ts): SNP_LAUNCH_START/
 *   UPDATE/FINISH over kvm_gmem_populate().
 */
import type { PlatformVm, PlatformVmContext } from '../../lib/kvm/model/platform.js';
import type { PlatformModel } from '../../lib/platform/types.js';
import { KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES } from '../sev/uapi.js';
import type { SnpHardware } from './hardware.js';
import { snpGmemHooks } from './model/gmem.js';
import { snpGuestOps } from './model/guest_ops.js';
import { snpVmIoctl } from './model/ioctls.js';
import { SnpVmState } from './model/state.js';

export { formatPscEntries, mergePscRuns, parsePscEntries, type PscEntry } from './model/psc.js';

export function createSnpModel(hw: SnpHardware): PlatformModel {
  const vmsaFeatures = BigInt(hw.vmsaFeatures);
  return {
    hasProtectedState: true,
    preFault: false,
    /** sev_dev_get_attr(): the VMSA features INIT2 accepts, shared with SEV-ES. */
    devAttr: (group, attr) => (group === KVM_X86_GRP_SEV && attr === KVM_X86_SEV_VMSA_FEATURES ? vmsaFeatures : undefined),
    attach(ctx: PlatformVmContext): PlatformVm {
      const vm = new SnpVmState(ctx, hw);
      return {
        isPrivateAccess: (a) => vm.mapping.resolve(a.view, a.gpa, () => vm.attrPrivate(a.gpa)),
        ...snpGuestOps(vm),
        ...snpVmIoctl(vm),
        preFaultAllowed: () => vm.launch.state === 'finished',
        ...snpGmemHooks(vm),
      };
    },
  };
}
