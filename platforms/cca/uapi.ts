/**
 * The CCA realm uAPI this plugin pins (reference/platforms.md §2.6, series
 * v12+): KVM_ARM_RMI_POPULATE and its flags, and the RSI results of
 * RSI_IPA_STATE_SET. The ioctl number is this plugin's pin for the series'
 * `struct kvm_arm_rmi_populate`; it was not re-read from the series.
 */
import { setU32, setU64, u32, u64 } from '../../lib/platform/common.js';

/** _IOWR(KVMIO, 0xd7, struct kvm_arm_rmi_populate) — 32 bytes. */
export const KVM_ARM_RMI_POPULATE = 0xc020aed7;
export const KVM_ARM_RMI_POPULATE_FLAGS_MEASURE = 1 << 0;
export const SIZEOF_KVM_ARM_RMI_POPULATE = 32;

export function encodeRmiPopulate(p: { base: bigint; size: bigint; sourceUaddr: bigint; flags: number }): Uint8Array {
  const b = new Uint8Array(SIZEOF_KVM_ARM_RMI_POPULATE);
  setU64(b, 0, p.base);
  setU64(b, 8, p.size);
  setU64(b, 16, p.sourceUaddr);
  setU32(b, 24, p.flags);
  return b;
}
export function decodeRmiPopulate(b: Uint8Array): { base: bigint; size: bigint; sourceUaddr: bigint; flags: number } {
  return { base: u64(b, 0), size: u64(b, 8), sourceUaddr: u64(b, 16), flags: u32(b, 24) };
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

/** Model-only: _IOR(KVMIO, 0xfe, __u8[32]): the realm's RIM so far (an attestation token would carry it). */
export const KVM_ARM_MODEL_GET_RIM = 0x8020aefe;
