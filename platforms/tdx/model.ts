/**
 * TDX inside the model (reference/platforms.md §2.1), assembled from model/
 * the way arch/x86/kvm/vmx/tdx.c divides it:
 *
 * - Marker: the shared GPA bit (GPAW−1). An access through the shared alias
 *   is shared, through the private alias private; `auto` follows the TD's
 *   own page tables (its last MapGPA/ACCEPT), else the attribute.
 * - Conversion (model/map_gpa.ts): `tdx.map_gpa` is TDG.VP.VMCALL<MapGPA>:
 *   KVM (tdx_map_gpa()) exits KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE) with
 *   the bit stripped, in chunks, and returns RETRY with the next GPA in R11
 *   when an interrupt is pending between chunks. Without
 *   KVM_CAP_EXIT_HYPERCALL the guest gets SUBFUNC_UNSUPPORTED and there is
 *   no exit.
 * - →private pages are pending until `tdx.accept` (TDG.MEM.PAGE.ACCEPT,
 *   model/guest_ops.ts); touching one kills the TD (6.16) or exits
 *   MEMORY_FAULT with size 0.
 * - Launch: INIT_VM (once, before any vCPU: KVM_CREATE_VCPU is -EIO until
 *   then) and FINALIZE_VM (model/vm_ioctl.ts), INIT_VCPU and
 *   INIT_MEM_REGION (model/vcpu_ioctl.ts, model/init_mem_region.ts: copy
 *   from a source buffer, MRTD extended by PAGE.ADD and, with MEASURE,
 *   MR.EXTEND); KVM_RUN before finalise is -EINVAL.
 * - Host access (model/model_control.ts): private gmem is never mapped; the
 *   model-only KVM_TDX_MODEL_HOST_WRITE stands for a host kernel partial
 *   write, which poisons the line: the TD's next private read consumes it
 *   (#MC), which surfaces as KVM_RUN -EHWPOISON with KVM_EXIT_MEMORY_FAULT [H].
 */
import type { PlatformVm, PlatformVmContext } from '../../lib/kvm/model/platform.js';
import type { PlatformModel } from '../../lib/platform/types.js';
import type { TdxHardware } from './hardware.js';
import { tdxGuestOps } from './model/guest_ops.js';
import { tdxSeptHooks } from './model/sept.js';
import { TdxVm, registerTdxVm } from './model/state.js';
import { tdxVcpuHooks } from './model/vcpu_ioctl.js';
import { tdxVmIoctl } from './model/vm_ioctl.js';

export { tdxVmState, type TdxVmState } from './model/state.js';

/** `hw.gpaw` is the part's GPAW; KVM_TDX_INIT_VM's CPUID can change it per TD. */
export function createTdxModel(hw: TdxHardware): PlatformModel {
  return {
    hasProtectedState: true,
    preFault: false,
    attach(ctx: PlatformVmContext): PlatformVm {
      const vm = new TdxVm(ctx, hw);
      registerTdxVm(vm);
      return {
        isPrivateAccess: (a) => vm.mapping.resolve(a.view, a.gpa, () => vm.attrPrivate(a.gpa)),
        ...tdxGuestOps(vm, hw),
        ...tdxVmIoctl(vm),
        ...tdxVcpuHooks(vm),
        preFaultAllowed: () => vm.launch.state === 'runnable',
        ...tdxSeptHooks(vm),
      };
    },
  };
}
