/**
 * What an SNP guest's platform instructions do in the model: page state
 * changes through the GHCB (arch/x86/kvm/svm/sev.c snp_begin_psc(),
 * snp_complete_psc(), and the MSR protocol's GHCB_MSR_PSC_REQ), PVALIDATE
 * against the RMP (AMD APM vol. 3, PVALIDATE; a 4K validation inside a 2M
 * entry resolved by sev_handle_rmp_fault()'s PSMASH), the GHCB MSR
 * termination request, and the #VC a not-validated page raises.
 */
import { EINVAL } from '../../../lib/kvm/errno.js';
import type { PlatformGuestOp, PlatformOpOutcome, PlatformVcpuContext, PlatformVm } from '../../../lib/kvm/model/platform.js';
import {
  KVM_EXIT_HYPERCALL_LONG_MODE, KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_DECRYPTED, KVM_MAP_GPA_RANGE_ENCRYPTED,
  KVM_MAP_GPA_RANGE_PAGE_SZ_2M, KVM_MAP_GPA_RANGE_PAGE_SZ_4K, KVM_MEMORY_EXIT_FLAG_PRIVATE, KVM_SYSTEM_EVENT_SEV_TERM,
} from '../../../lib/kvm/uapi.js';
import { PAGE, gfnOf } from '../../../lib/platform/common.js';
import { ghcbMsrTermReq } from '../../sev/uapi.js';
import {
  GHCB_MSR_PSC_RESP, GHCB_MSR_PSC_RESP_ERROR, GHCB_MSR_TERM_REQ, PVALIDATE_FAIL_INPUT, PVALIDATE_FAIL_NOUPDATE,
  PVALIDATE_FAIL_SIZEMISMATCH, VMGEXIT_PSC_ERROR_GENERIC,
} from '../uapi.js';
import { snpGmemPrepare } from './gmem.js';
import { mergePscRuns, parsePscEntries, type PscEntry } from './psc.js';
import type { SnpVmState } from './state.js';

/** One step of a page state change: the next run's exit, or the final status. */
function pscStep(vm: SnpVmState, vcpu: PlatformVcpuContext): PlatformOpOutcome {
  const st = vm.psc.get(vcpu.vcpu)!;
  if (st.error !== undefined || st.i >= st.runs.length) {
    vm.psc.delete(vcpu.vcpu);
    const okStatus = st.msr ? GHCB_MSR_PSC_RESP : 0n;
    return { kind: 'done', status: st.error ?? okStatus };
  }
  const run = st.runs[st.i]!;
  return {
    kind: 'exit',
    exit: {
      reason: 'hypercall', nr: BigInt(KVM_HC_MAP_GPA_RANGE),
      args: [run.gpa, run.npages, (run.toPrivate ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED) | (run.huge ? KVM_MAP_GPA_RANGE_PAGE_SZ_2M : KVM_MAP_GPA_RANGE_PAGE_SZ_4K)],
      flags: KVM_EXIT_HYPERCALL_LONG_MODE,
    },
    retry: true,
    resume: (r) => {
      if (r.hypercallRet !== 0n) {
        st.error = st.msr ? GHCB_MSR_PSC_RESP_ERROR : VMGEXIT_PSC_ERROR_GENERIC;
        return st.error;
      }
      vm.mapping.set(run.gpa, run.npages * PAGE, run.toPrivate);
      st.i++;
      return 0n;
    },
  };
}

function startPsc(vm: SnpVmState, vcpu: PlatformVcpuContext, entries: PscEntry[], msr: boolean): PlatformOpOutcome {
  // Without the MAP_GPA_RANGE exit the guest gets a PSC error, no exit.
  if ((vcpu.exitHypercallMask & (1n << BigInt(KVM_HC_MAP_GPA_RANGE))) === 0n) {
    return { kind: 'done', status: msr ? GHCB_MSR_PSC_RESP_ERROR : VMGEXIT_PSC_ERROR_GENERIC };
  }
  vm.psc.set(vcpu.vcpu, { runs: mergePscRuns(entries), i: 0, msr });
  return pscStep(vm, vcpu);
}

function pvalidate(vm: SnpVmState, gpa: bigint, size2M: boolean, validate: boolean, onMismatch: string): PlatformOpOutcome {
  const gfn = gfnOf(gpa);
  // The #NPF of a PVALIDATE on a private gfn whose slot has no gmem is
  // the common private-fault exit (kvm_mmu_faultin_pfn_private()).
  if (vm.attrPrivate(gpa) && !vm.ctx.slotAt(gpa)?.hasGmem) {
    return { kind: 'exit', exit: { reason: 'memory_fault', flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa: gfn * PAGE, size: PAGE }, retry: true };
  }
  // A PVALIDATE of a page not yet in the RMP faults it in first (a private #NPF).
  if (!vm.rmp.get(gfn)?.assigned && vm.attrPrivate(gpa) && vm.ctx.slotAt(gpa)?.hasGmem) snpGmemPrepare(vm, gpa);
  let r = vm.rmp.pvalidate(gfn, size2M, validate);
  if (r === PVALIDATE_FAIL_SIZEMISMATCH && !size2M && onMismatch !== 'return') {
    // #NPF with PFERR_GUEST_SIZEM: KVM PSMASHes the 2M entry and the guest's retry succeeds.
    vm.rmp.psmash(gfn);
    r = vm.rmp.pvalidate(gfn, size2M, validate);
  }
  if (r === 0n) vm.mapping.set(gpa, size2M ? 0x200000n : PAGE, true);
  return { kind: 'done', status: r };
}

/** The guest's loop over a range (pvalidate_pages()); the first failure ends it. */
function pvalidateRange(vm: SnpVmState, args: PlatformGuestOp['args']): PlatformOpOutcome {
  const size2M = args.size === '2M';
  const step = size2M ? 0x200000n : PAGE;
  const n = BigInt((args.npages ?? 1) as number | bigint);
  // With `all`, every page is tried and NOUPDATE (already in that state) is
  // not a failure: a guest rescinding a whole range.
  const all = args.all === true;
  let out: PlatformOpOutcome = { kind: 'done', status: 0n };
  for (let i = 0n; i < n; i++) {
    const r = pvalidate(vm, BigInt(args.gpa as bigint) + i * step, size2M, args.validate !== false, String(args.onSizeMismatch ?? 'npf'));
    if (r.kind !== 'done') return r;
    if (r.status === 0n || (all && (r.status === PVALIDATE_FAIL_NOUPDATE || r.status === PVALIDATE_FAIL_INPUT))) continue;
    out = r;
    if (!all) break;
  }
  return out;
}

export function snpGuestOps(vm: SnpVmState): Pick<PlatformVm, 'beforeGuestAccess' | 'guestOp'> {
  return {
    beforeGuestAccess(a, backing) {
      if (backing !== 'private') return undefined;
      snpGmemPrepare(vm, a.gpa);
      if (!vm.rmp.get(gfnOf(a.gpa))!.validated) {
        // #VC "page not validated" [H]: Linux treats it as fatal and asks
        // the host to terminate it through the GHCB MSR protocol.
        return { kind: 'fatal', exit: { reason: 'system_event', type: KVM_SYSTEM_EVENT_SEV_TERM, data: [GHCB_MSR_TERM_REQ] } };
      }
      return undefined;
    },
    guestOp(vcpu, op): PlatformOpOutcome {
      switch (op.call) {
        case 'snp.psc_msr':
          if (vm.psc.has(vcpu.vcpu)) return pscStep(vm, vcpu);
          return startPsc(vm, vcpu, [{ gfn: gfnOf(BigInt(op.args.gpa as bigint)), toPrivate: op.args.op === 'private', huge: false }], true);
        case 'snp.psc':
          if (vm.psc.has(vcpu.vcpu)) return pscStep(vm, vcpu);
          return startPsc(vm, vcpu, parsePscEntries(String(op.args.entries ?? '')), false);
        case 'snp.pvalidate':
          return pvalidateRange(vm, op.args);
        case 'sev.ghcb_msr_term':
          // The GHCB MSR protocol's termination request, as for SEV-ES
          // (sev_handle_vmgexit_msr_protocol()): SEV_TERM with the MSR value.
          return { kind: 'fatal', exit: { reason: 'system_event', type: KVM_SYSTEM_EVENT_SEV_TERM, data: [ghcbMsrTermReq(BigInt(op.args.reasonSet ?? 0n), BigInt(op.args.reasonCode ?? 0n))] } };
        default:
          return { kind: 'done', status: BigInt(-EINVAL) };
      }
    },
  };
}
