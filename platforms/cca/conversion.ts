/** CCA's guest conversion protocol (lib/platform/types.ts, ConversionProtocol). */
import { KVM_EXIT_MEMORY_FAULT, KVM_MEMORY_EXIT_FLAG_PRIVATE } from '../../lib/kvm/uapi.js';
import { gpa as asGpa } from '../../lib/kvm/addr.js';
import type { ConversionProtocol } from '../../lib/platform/types.js';

/** CCA: RSI_IPA_STATE_SET exits as KVM_EXIT_MEMORY_FAULT; the attributes are the answer. */
export const ccaConversion: ConversionProtocol = {
  convert(g, at, len, toPrivate) {
    const gpa = BigInt(at);
    g.platform('cca.rsi_ipa_state_set', { base: gpa, top: gpa + BigInt(len), ripas: toPrivate ? 'ram' : 'empty' }, { expect: 0n, expr: 'rsi_ipa_state_set() == RSI_ACCEPT' });
  },
  decodeExit(run) {
    if (run.exitReason !== KVM_EXIT_MEMORY_FAULT) return null;
    const priv = (run.memoryFaultFlags & KVM_MEMORY_EXIT_FLAG_PRIVATE) !== 0n;
    return { gpa: asGpa(run.memoryFaultGpa), size: run.memoryFaultSize, toPrivate: priv, pageSize: 4096, raw: run.memoryFaultFlags };
  },
  complete() {
    // Nothing to write: the next KVM_RUN reads the attributes (RIPAS response).
  },
  reacquire() {
    // RIPAS stays RAM across a punch; KVM faults a fresh granule in.
  },
  passesRawFlags: false,
  privateView: 'private',
  sharedView: 'shared',
};
