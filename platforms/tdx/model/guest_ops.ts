/**
 * What a TD's platform instructions do in the model: MapGPA (map_gpa.ts),
 * TDG.MEM.PAGE.ACCEPT (TDX module spec, "TDG.MEM.PAGE.ACCEPT"; its EPT
 * violation on a page KVM cannot back ends in the common private-fault
 * exit), and what a private access to a pending or poisoned page does
 * (arch/x86/kvm/vmx/tdx.c tdx_handle_ept_violation(); #MC consumption).
 */
import { EHWPOISON, EIO } from '../../../lib/kvm/errno.js';
import type { PlatformOpOutcome, PlatformVm } from '../../../lib/kvm/model/platform.js';
import { KVM_MEMORY_EXIT_FLAG_PRIVATE } from '../../../lib/kvm/uapi.js';
import { PAGE, gfnOf, pageBase, pagesOf } from '../../../lib/platform/common.js';
import type { TdxHardware } from '../hardware.js';
import { TDVMCALL_STATUS_INVALID_OPERAND, TDX_PAGE_ALREADY_ACCEPTED, TDX_PAGE_SIZE_MISMATCH, TDX_SUCCESS } from '../uapi.js';
import { tdxMapGpa, tdxMapGpaStep } from './map_gpa.js';
import type { TdxVm } from './state.js';

function accept(vm: TdxVm, gpa: bigint, size: bigint, level: string): PlatformOpOutcome {
  // KVM maps private memory at 4K only (tdx_gmem_max_mapping_level()):
  // a 2M accept finds a 4K S-EPT leaf and fails with a size mismatch.
  if (level !== '4K') return { kind: 'done', status: TDX_PAGE_SIZE_MISMATCH };
  let already = false;
  for (const pg of pagesOf(vm.strip(gpa), size)) {
    const gfn = gfnOf(pg);
    if (vm.isAccepted(gfn)) { already = true; continue; }
    // The EPT violation of an ACCEPT on a gfn the VMM keeps shared (a
    // mismatch), or on a private gfn without gmem, is a private fault
    // KVM cannot serve: KVM_EXIT_MEMORY_FAULT(PRIVATE).
    if (!vm.attrPrivate(pg) || !vm.ctx.slotAt(pg)?.hasGmem) {
      return { kind: 'exit', exit: { reason: 'memory_fault', flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa: pg, size: PAGE }, retry: true };
    }
    vm.accepted.add(gfn);
    vm.mapping.set(pg, PAGE, true);
  }
  return { kind: 'done', status: already ? TDX_PAGE_ALREADY_ACCEPTED : TDX_SUCCESS };
}

export function tdxGuestOps(vm: TdxVm, hw: TdxHardware): Pick<PlatformVm, 'beforeGuestAccess' | 'guestOp'> {
  const chunk = BigInt(hw.mapGpaChunkBytes);
  const pendingAccess = hw.pendingAccess;
  return {
    beforeGuestAccess(a, backing) {
      if (backing !== 'private') return undefined;
      const gfn = gfnOf(a.gpa);
      if (vm.poisoned.has(gfn)) {
        // #MC on consumption; memory_failure() poisons the gmem folio and
        // the fault path reports -EHWPOISON.
        return { kind: 'exit', exit: { reason: 'memory_fault', flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa: pageBase(a.gpa), size: PAGE, errno: EHWPOISON } };
      }
      if (!vm.isAccepted(gfn)) {
        return pendingAccess === 'vm-dead'
          ? { kind: 'fatal', exit: { reason: 'memory_fault', flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa: pageBase(a.gpa), size: 0n, errno: EIO } }
          : { kind: 'fatal', exit: { reason: 'memory_fault', flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa: pageBase(a.gpa), size: 0n } };
      }
      return undefined;
    },
    guestOp(vcpu, op): PlatformOpOutcome {
      const n = (k: string, d = 0n): bigint => (op.args[k] === undefined ? d : BigInt(op.args[k] as bigint | number));
      switch (op.call) {
        case 'tdx.map_gpa':
          if (vm.progress.has(vcpu.vcpu)) return tdxMapGpaStep(vm, vcpu, chunk);
          return tdxMapGpa(vm, vcpu, n('gpa'), n('size'), chunk);
        case 'tdx.map_gpa_resume':
          if (vm.progress.has(vcpu.vcpu)) return tdxMapGpaStep(vm, vcpu, chunk);
          return { kind: 'done', status: TDVMCALL_STATUS_INVALID_OPERAND };
        case 'tdx.accept':
          return accept(vm, n('gpa'), n('size', PAGE), String(op.args.level ?? '4K'));
        default:
          return { kind: 'done', status: TDVMCALL_STATUS_INVALID_OPERAND };
      }
    },
  };
}
