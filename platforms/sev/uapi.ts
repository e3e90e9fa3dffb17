/**
 * The SEV / SEV-ES / SNP part of KVM_MEMORY_ENCRYPT_OP: command ids
 * (enum sev_cmd_id in arch/x86/include/uapi/asm/kvm.h), argument structs at
 * their x86-64 offsets, and the firmware status codes KVM reports in
 * `kvm_sev_cmd.error` (include/uapi/linux/psp-sev.h, enum sev_ret_code).
 */
import { dv, setU32, setU64, u32, u64 } from '../../lib/platform/common.js';

export const KVM_SEV_INIT = 0;
export const KVM_SEV_ES_INIT = 1;
export const KVM_SEV_LAUNCH_START = 2;
export const KVM_SEV_LAUNCH_UPDATE_DATA = 3;
export const KVM_SEV_LAUNCH_UPDATE_VMSA = 4;
export const KVM_SEV_LAUNCH_SECRET = 5;
export const KVM_SEV_LAUNCH_MEASURE = 6;
export const KVM_SEV_LAUNCH_FINISH = 7;
export const KVM_SEV_INIT2 = 22;
export const KVM_SEV_SNP_LAUNCH_START = 100;
export const KVM_SEV_SNP_LAUNCH_UPDATE = 101;
export const KVM_SEV_SNP_LAUNCH_FINISH = 102;

export const SEV_CMD_NAMES: Readonly<Record<number, string>> = {
  [KVM_SEV_INIT]: 'KVM_SEV_INIT',
  [KVM_SEV_ES_INIT]: 'KVM_SEV_ES_INIT',
  [KVM_SEV_LAUNCH_START]: 'KVM_SEV_LAUNCH_START',
  [KVM_SEV_LAUNCH_UPDATE_DATA]: 'KVM_SEV_LAUNCH_UPDATE_DATA',
  [KVM_SEV_LAUNCH_UPDATE_VMSA]: 'KVM_SEV_LAUNCH_UPDATE_VMSA',
  [KVM_SEV_LAUNCH_SECRET]: 'KVM_SEV_LAUNCH_SECRET',
  [KVM_SEV_LAUNCH_MEASURE]: 'KVM_SEV_LAUNCH_MEASURE',
  [KVM_SEV_LAUNCH_FINISH]: 'KVM_SEV_LAUNCH_FINISH',
  [KVM_SEV_INIT2]: 'KVM_SEV_INIT2',
  [KVM_SEV_SNP_LAUNCH_START]: 'KVM_SEV_SNP_LAUNCH_START',
  [KVM_SEV_SNP_LAUNCH_UPDATE]: 'KVM_SEV_SNP_LAUNCH_UPDATE',
  [KVM_SEV_SNP_LAUNCH_FINISH]: 'KVM_SEV_SNP_LAUNCH_FINISH',
};

/* Firmware status codes (SEV_RET_*). */
export const SEV_RET_SUCCESS = 0;
export const SEV_RET_INVALID_GUEST_STATE = 2;
export const SEV_RET_INVALID_LEN = 4;
export const SEV_RET_INVALID_ADDRESS = 9;
export const SEV_RET_INVALID_PARAM = 22;
export const SEV_RET_INVALID_PAGE_STATE = 0x1a;

/** SEV policy bits (firmware spec): NODBG bit 0, ES bit 2. */
export const SEV_POLICY_NO_DBG = 1 << 0;
export const SEV_POLICY_ES = 1 << 2;

/** struct kvm_sev_cmd { u32 id; u32 pad0; u64 data; u32 error; u32 sev_fd; } */
export const SIZEOF_KVM_SEV_CMD = 24;

export interface SevCmd {
  id: number;
  data: bigint;
  error: number;
  sevFd: number;
}

export function encodeSevCmd(c: { id: number; data: bigint; sevFd?: number }): Uint8Array {
  const b = new Uint8Array(SIZEOF_KVM_SEV_CMD);
  setU32(b, 0, c.id);
  setU64(b, 8, c.data);
  setU32(b, 20, c.sevFd ?? 0);
  return b;
}

export function decodeSevCmd(b: Uint8Array): SevCmd {
  return { id: u32(b, 0), data: u64(b, 8), error: u32(b, 16), sevFd: u32(b, 20) };
}

export function setSevCmdError(b: Uint8Array, error: number): void {
  setU32(b, 16, error);
}

/** struct kvm_sev_init { u64 vmsa_features; u32 flags; u16 ghcb_version; u16 pad1; u32 pad2[8]; } */
export const SIZEOF_KVM_SEV_INIT = 48;
export function encodeSevInit(v: { vmsaFeatures?: bigint; flags?: number; ghcbVersion?: number } = {}): Uint8Array {
  const b = new Uint8Array(SIZEOF_KVM_SEV_INIT);
  setU64(b, 0, v.vmsaFeatures ?? 0n);
  setU32(b, 8, v.flags ?? 0);
  dv(b).setUint16(12, v.ghcbVersion ?? 0, true);
  return b;
}
export function decodeSevInit(b: Uint8Array): { vmsaFeatures: bigint; flags: number; ghcbVersion: number } {
  return { vmsaFeatures: u64(b, 0), flags: u32(b, 8), ghcbVersion: dv(b).getUint16(12, true) };
}

/** struct kvm_sev_launch_start { u32 handle; u32 policy; u64 dh_uaddr; u32 dh_len; u32 pad0; u64 session_uaddr; u32 session_len; u32 pad1; } */
export const SIZEOF_KVM_SEV_LAUNCH_START = 40;
export function encodeSevLaunchStart(v: { policy: number; sessionUaddr?: bigint; sessionLen?: number }): Uint8Array {
  const b = new Uint8Array(SIZEOF_KVM_SEV_LAUNCH_START);
  setU32(b, 4, v.policy);
  setU64(b, 24, v.sessionUaddr ?? 0n);
  setU32(b, 32, v.sessionLen ?? 0);
  return b;
}
export function decodeSevLaunchStart(b: Uint8Array): { handle: number; policy: number; sessionUaddr: bigint; sessionLen: number } {
  return { handle: u32(b, 0), policy: u32(b, 4), sessionUaddr: u64(b, 24), sessionLen: u32(b, 32) };
}

/** struct kvm_sev_launch_update_data / kvm_sev_launch_measure { u64 uaddr; u32 len; u32 pad0; } */
export const SIZEOF_KVM_SEV_UADDR_LEN = 16;
export function encodeUaddrLen(uaddr: bigint, len: number): Uint8Array {
  const b = new Uint8Array(SIZEOF_KVM_SEV_UADDR_LEN);
  setU64(b, 0, uaddr);
  setU32(b, 8, len);
  return b;
}
export function decodeUaddrLen(b: Uint8Array): { uaddr: bigint; len: number } {
  return { uaddr: u64(b, 0), len: u32(b, 8) };
}

/** struct kvm_sev_launch_secret { u64 hdr_uaddr; u32 hdr_len; u32 pad0; u64 guest_uaddr; u32 guest_len; u32 pad1; u64 trans_uaddr; u32 trans_len; u32 pad2; } */
export const SIZEOF_KVM_SEV_LAUNCH_SECRET = 48;
export function encodeSevLaunchSecret(v: { guestUaddr: bigint; guestLen: number; transUaddr: bigint; transLen: number }): Uint8Array {
  const b = new Uint8Array(SIZEOF_KVM_SEV_LAUNCH_SECRET);
  setU64(b, 16, v.guestUaddr);
  setU32(b, 24, v.guestLen);
  setU64(b, 32, v.transUaddr);
  setU32(b, 40, v.transLen);
  return b;
}
export function decodeSevLaunchSecret(b: Uint8Array): { guestUaddr: bigint; guestLen: number; transUaddr: bigint; transLen: number } {
  return { guestUaddr: u64(b, 16), guestLen: u32(b, 24), transUaddr: u64(b, 32), transLen: u32(b, 40) };
}

/** Measurement blob LAUNCH_MEASURE returns: 32-byte HMAC then the 16-byte MNONCE. */
export const SEV_MEASUREMENT_LEN = 48;

/*
 * GHCB MSR protocol termination request (arch/x86/include/asm/sev-common.h):
 * GHCBInfo[11:0] = GHCB_MSR_TERM_REQ, the reason set in GHCBData[15:12] and
 * the reason code in GHCBData[23:16]. KVM hands the whole MSR value to
 * userspace in system_event.data[0] (sev_handle_vmgexit_msr_protocol()).
 */
export const GHCB_MSR_TERM_REQ = 0x100n;
export const GHCB_MSR_TERM_REASON_SET_POS = 12n;
export const GHCB_MSR_TERM_REASON_SET_MASK = 0xfn;
export const GHCB_MSR_TERM_REASON_POS = 16n;
export const GHCB_MSR_TERM_REASON_MASK = 0xffn;
/** Reason set 0 (general): GHCB_SEV_ES_GEN_REQ, GHCB_SEV_ES_PROT_UNSUPPORTED, GHCB_SNP_UNSUPPORTED. */
export const SEV_TERM_SET_GEN = 0;
export const GHCB_SEV_ES_GEN_REQ = 0;
export const GHCB_SEV_ES_PROT_UNSUPPORTED = 1;
export const GHCB_SNP_UNSUPPORTED = 2;
/** Reason set 1 (Linux): GHCB registration, PSC and PVALIDATE failures, not at VMPL0. */
export const SEV_TERM_SET_LINUX = 1;
export const GHCB_TERM_REGISTER = 0;
export const GHCB_TERM_PSC = 1;
export const GHCB_TERM_PVALIDATE = 2;
export const GHCB_TERM_NOT_VMPL0 = 3;

/** The MSR value a guest writes to ask for termination: GHCB_MSR_TERM_REQ | GHCB_SEV_TERM_REASON(set, code). */
export function ghcbMsrTermReq(reasonSet: bigint | number, reasonCode: bigint | number): bigint {
  return GHCB_MSR_TERM_REQ
    | ((BigInt(reasonSet) & GHCB_MSR_TERM_REASON_SET_MASK) << GHCB_MSR_TERM_REASON_SET_POS)
    | ((BigInt(reasonCode) & GHCB_MSR_TERM_REASON_MASK) << GHCB_MSR_TERM_REASON_POS);
}

/*
 * VMSA features (SVM_SEV_FEAT_*, arch/x86/include/asm/svm.h) and the
 * /dev/kvm attribute that reports the ones KVM_SEV_INIT2 accepts
 * (KVM_X86_GRP_SEV / KVM_X86_SEV_VMSA_FEATURES, arch/x86/include/uapi/asm/kvm.h).
 */
export const SVM_SEV_FEAT_SNP_ACTIVE = 1n << 0n;
export const SVM_SEV_FEAT_DEBUG_SWAP = 1n << 5n;
export const KVM_X86_GRP_SEV = 1;
export const KVM_X86_SEV_VMSA_FEATURES = 0n;
