/**
 * TDG.VP.VMCALL<MapGPA> (GHCI spec, "TDG.VP.VMCALL<MapGPA>") as KVM
 * serves it (arch/x86/kvm/vmx/tdx.c tdx_map_gpa(),
 * __tdx_map_gpa(), tdx_complete_vmcall_map_gpa()): the range goes to
 * userspace as KVM_HC_MAP_GPA_RANGE exits in chunks, with the shared bit
 * stripped, and a pending interrupt between chunks ends the call with
 * RETRY and the next GPA in R11.
 */
import type { PlatformOpOutcome, PlatformVcpuContext } from '../../../lib/kvm/model/platform.js';
import {
  KVM_EXIT_HYPERCALL_LONG_MODE, KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_DECRYPTED, KVM_MAP_GPA_RANGE_ENCRYPTED,
} from '../../../lib/kvm/uapi.js';
import { PAGE, isPageAligned } from '../../../lib/platform/common.js';
import {
  TDVMCALL_STATUS_INVALID_OPERAND, TDVMCALL_STATUS_RETRY, TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED, TDVMCALL_STATUS_SUCCESS,
} from '../uapi.js';
import type { TdxVm } from './state.js';

/** One step of MapGPA: an exit for the next chunk, or the final status. */
export function tdxMapGpaStep(vm: TdxVm, vcpu: PlatformVcpuContext, chunk: bigint): PlatformOpOutcome {
  const p = vm.progress.get(vcpu.vcpu)!;
  if (p.error !== undefined) {
    vm.progress.delete(vcpu.vcpu);
    vcpu.setReg('r11', p.next);
    return { kind: 'done', status: p.error };
  }
  if (p.next >= p.end) {
    vm.progress.delete(vcpu.vcpu);
    return { kind: 'done', status: TDVMCALL_STATUS_SUCCESS };
  }
  // tdx_complete_vmcall_map_gpa(): between chunks, a pending interrupt
  // ends the call with RETRY and the next GPA in R11.
  if (vm.irqPending.has(vcpu.vcpu) && p.started) {
    vm.irqPending.delete(vcpu.vcpu);
    vcpu.setReg('r11', p.next);
    return { kind: 'done', status: TDVMCALL_STATUS_RETRY };
  }
  p.started = true;
  const size = p.end - p.next < chunk ? p.end - p.next : chunk;
  const at = p.next;
  return {
    kind: 'exit',
    exit: {
      reason: 'hypercall', nr: BigInt(KVM_HC_MAP_GPA_RANGE),
      args: [at, size / PAGE, p.toPrivate ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED],
      flags: KVM_EXIT_HYPERCALL_LONG_MODE,
    },
    retry: true,
    resume: (run) => {
      if (run.hypercallRet !== 0n) {
        p.error = TDVMCALL_STATUS_INVALID_OPERAND;
        return p.error;
      }
      // The guest switches its own mapping once the VMM agreed.
      vm.mapping.set(at, size, p.toPrivate);
      if (!p.toPrivate) vm.accepted.setRange(at, size, false);
      p.next = at + size;
      return TDVMCALL_STATUS_SUCCESS;
    },
  };
}

export function tdxMapGpa(vm: TdxVm, vcpu: PlatformVcpuContext, rawGpa: bigint, size: bigint, chunk: bigint): PlatformOpOutcome {
  // Without KVM_CAP_EXIT_HYPERCALL for MAP_GPA_RANGE there is no exit to make.
  if ((vcpu.exitHypercallMask & (1n << BigInt(KVM_HC_MAP_GPA_RANGE))) === 0n) {
    return { kind: 'done', status: TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED };
  }
  const bit = 1n << BigInt(vm.sharedBit());
  const toPrivate = (rawGpa & bit) === 0n;
  const end = rawGpa + size;
  // tdx_map_gpa(): alignment, overflow, and both ends on the same side of the shared bit.
  if (!isPageAligned(rawGpa) || !isPageAligned(size) || size === 0n || ((end - 1n) & bit) !== (rawGpa & bit)) {
    vcpu.setReg('r11', rawGpa);
    return { kind: 'done', status: TDVMCALL_STATUS_INVALID_OPERAND };
  }
  vm.progress.set(vcpu.vcpu, { next: vm.strip(rawGpa), end: vm.strip(rawGpa) + size, toPrivate, started: false });
  return tdxMapGpaStep(vm, vcpu, chunk);
}
