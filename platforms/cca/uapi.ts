/**
 * The CCA realm uAPI this plugin pins (reference/platforms.md §2.6, series
 * v12+): KVM_ARM_RMI_POPULATE and its flags, and the RSI results of
 * RSI_IPA_STATE_SET. The ioctl number is this plugin's pin for the series'
 * `struct kvm_arm_rmi_populate`; it was not re-read from the series.
 */
import { _IOR, _IOWR } from '../../lib/kvm/ioctl.js';
import { array, struct, u32, u64, u8 } from '../../lib/kvm/layout.js';
import { KVMIO } from '../../lib/kvm/uapi.js';

/** struct kvm_arm_rmi_populate; the u64 alignment pads it to 32 bytes after `flags`. */
export const kvm_arm_rmi_populate = struct('kvm_arm_rmi_populate', { base: u64, size: u64, sourceUaddr: u64, flags: u32 });
export const KVM_ARM_RMI_POPULATE = _IOWR(KVMIO, 0xd7, kvm_arm_rmi_populate);
export const KVM_ARM_RMI_POPULATE_FLAGS_MEASURE = 1 << 0;
export const SIZEOF_KVM_ARM_RMI_POPULATE = kvm_arm_rmi_populate.size;

export function encodeRmiPopulate(p: { base: bigint; size: bigint; sourceUaddr: bigint; flags: number }): Uint8Array {
  return kvm_arm_rmi_populate.encode(p);
}
export function decodeRmiPopulate(b: Uint8Array): { base: bigint; size: bigint; sourceUaddr: bigint; flags: number } {
  return kvm_arm_rmi_populate.decode(b);
}

/** RIPAS values (RSI_IPA_STATE_SET). */
export const RIPAS_EMPTY = 0;
export const RIPAS_RAM = 1;

/**
 * The op status of `cca.rsi_ipa_state_set`: the host's response
 * (RSI_ACCEPT 0 / RSI_REJECT 1) on success; RSI_ERROR_INPUT as 0x100 | 1
 * (the RSI return code in bits 15:8).
 */
export const RSI_ACCEPT = 0n;
export const RSI_REJECT = 1n;
export const RSI_ERROR_INPUT = 0x101n;
/** KVM_SYSTEM_EVENT_CRASH: how the model reports a realm that took an SEA it cannot handle. */
export const KVM_SYSTEM_EVENT_CRASH = 5;

/** Model-only: the realm's RIM so far, 32 bytes (an attestation token would carry it). */
export const KVM_ARM_MODEL_GET_RIM = _IOR(KVMIO, 0xfe, array(u8, 32));
