/**
 * What an SEV or SEV-ES guest's memory accesses and platform instructions
 * do in the model (AMD APM vol. 2, "Secure Encrypted Virtualization"): a
 * C=1 store lands as ciphertext at the page's HPA and a C=1 load decrypts
 * whatever is there; `sev.set_cbit` flips the guest's own page table bit
 * (with the optional KVM_HC_MAP_GPA_RANGE notification,
 * Documentation/virt/kvm/x86/hypercalls.rst); and the GHCB MSR protocol's
 * termination request (arch/x86/kvm/svm/sev.c
 * sev_handle_vmgexit_msr_protocol()).
 */
import { EINVAL } from '../../../lib/kvm/errno.js';
import type { PlatformOpOutcome, PlatformVm } from '../../../lib/kvm/model/platform.js';
import {
  KVM_ENOSYS, KVM_EXIT_HYPERCALL_LONG_MODE, KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_DECRYPTED, KVM_MAP_GPA_RANGE_ENCRYPTED,
  KVM_SYSTEM_EVENT_SEV_TERM,
} from '../../../lib/kvm/uapi.js';
import { PAGE } from '../../../lib/platform/common.js';
import { ghcbMsrTermReq } from '../uapi.js';
import type { SevVm } from './state.js';

export function sevGuestOps(vm: SevVm): Pick<PlatformVm, 'encodeGuestWrite' | 'decodeGuestRead' | 'guestOp'> {
  return {
    encodeGuestWrite(a, _backing, data) {
      const hva = vm.hvaOf(a.gpa);
      return hva !== undefined && vm.cbitSet(a) ? vm.cipher.encrypt(hva, data) : data;
    },
    decodeGuestRead(a, _backing, data) {
      const hva = vm.hvaOf(a.gpa);
      return hva !== undefined && vm.cbitSet(a) ? vm.cipher.decrypt(hva, data) : data;
    },
    guestOp(vcpu, op): PlatformOpOutcome {
      if (op.call === 'sev.ghcb_msr_term') {
        // SEV-ES: the MSR protocol's termination request ends the run
        // with SEV_TERM and the MSR value as written
        // (sev_handle_vmgexit_msr_protocol(), GHCB_MSR_TERM_REQ). KVM
        // would re-enter the guest if asked, but a terminating guest
        // halts forever (sev_es_terminate()), so the vCPU stays stopped.
        // Plain SEV has no GHCB: KVM intercepts MSR_AMD64_SEV_ES_GHCB
        // for non-ES guests and knows no such MSR, so the WRMSR takes
        // #GP; a guest without a #GP handler triple-faults, and for a
        // non-ES guest shutdown_interception() reports KVM_EXIT_SHUTDOWN.
        if (!vm.es) return { kind: 'fatal', exit: { reason: 'shutdown' } };
        const msr = ghcbMsrTermReq(BigInt(op.args.reasonSet ?? 0n), BigInt(op.args.reasonCode ?? 0n));
        return { kind: 'fatal', exit: { reason: 'system_event', type: KVM_SYSTEM_EVENT_SEV_TERM, data: [msr] } };
      }
      if (op.call !== 'sev.set_cbit') return { kind: 'done', status: BigInt(-EINVAL) };
      const gpa = BigInt(op.args.gpa ?? 0n);
      const size = BigInt(op.args.size ?? PAGE);
      const enc = op.args.encrypted === true;
      vm.cbit.set(gpa, size, enc);
      // Linux guests report the flip with KVM_HC_MAP_GPA_RANGE only for
      // migration bookkeeping (hypercalls.rst §8); optional here.
      if (op.args.notify !== true) return { kind: 'done', status: 0n };
      if ((vcpu.exitHypercallMask & (1n << BigInt(KVM_HC_MAP_GPA_RANGE))) === 0n) {
        return { kind: 'done', status: -BigInt(KVM_ENOSYS) };
      }
      return {
        kind: 'exit',
        exit: {
          reason: 'hypercall', nr: BigInt(KVM_HC_MAP_GPA_RANGE),
          args: [gpa, size / PAGE, enc ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED],
          flags: KVM_EXIT_HYPERCALL_LONG_MODE,
        },
        resume: (run) => run.hypercallRet,
      };
    },
  };
}
