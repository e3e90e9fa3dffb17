/**
 * The SEV / SEV-ES / SNP part of KVM_MEMORY_ENCRYPT_OP: command ids
 * (enum sev_cmd_id in arch/x86/include/uapi/asm/kvm.h), argument structs at
 * their x86-64 offsets, and the firmware status codes KVM reports in
 * `kvm_sev_cmd.error` (include/uapi/linux/psp-sev.h, enum sev_ret_code).
 */
import { array, struct, u16, u32, u64 } from '../../lib/kvm/layout.js';

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

/** struct kvm_sev_cmd: the argument of KVM_MEMORY_ENCRYPT_OP; `error` is the firmware's status, written back. */
export const kvm_sev_cmd = struct('kvm_sev_cmd', { id: u32, pad0: u32, data: u64, error: u32, sevFd: u32 });
export const SIZEOF_KVM_SEV_CMD = kvm_sev_cmd.size;

export interface SevCmd {
  id: number;
  data: bigint;
  error: number;
  sevFd: number;
}

export function encodeSevCmd(c: { id: number; data: bigint; sevFd?: number }): Uint8Array {
  return kvm_sev_cmd.encode(c);
}

export function decodeSevCmd(b: Uint8Array): SevCmd {
  const { id, data, error, sevFd } = kvm_sev_cmd.decode(b);
  return { id, data, error, sevFd };
}

export function setSevCmdError(b: Uint8Array, error: number): void {
  kvm_sev_cmd.encodeInto(b, 0, { error });
}

/** struct kvm_sev_init (KVM_SEV_INIT2). */
export const kvm_sev_init = struct('kvm_sev_init', { vmsaFeatures: u64, flags: u32, ghcbVersion: u16, pad1: u16, pad2: array(u32, 8) });
export const SIZEOF_KVM_SEV_INIT = kvm_sev_init.size;
export function encodeSevInit(v: { vmsaFeatures?: bigint; flags?: number; ghcbVersion?: number } = {}): Uint8Array {
  return kvm_sev_init.encode(v);
}
export function decodeSevInit(b: Uint8Array): { vmsaFeatures: bigint; flags: number; ghcbVersion: number } {
  const { vmsaFeatures, flags, ghcbVersion } = kvm_sev_init.decode(b);
  return { vmsaFeatures, flags, ghcbVersion };
}

/** struct kvm_sev_launch_start. */
export const kvm_sev_launch_start = struct('kvm_sev_launch_start', {
  handle: u32, policy: u32, dhUaddr: u64, dhLen: u32, pad0: u32, sessionUaddr: u64, sessionLen: u32, pad1: u32,
});
export const SIZEOF_KVM_SEV_LAUNCH_START = kvm_sev_launch_start.size;
export function encodeSevLaunchStart(v: { policy: number; sessionUaddr?: bigint; sessionLen?: number }): Uint8Array {
  return kvm_sev_launch_start.encode(v);
}
export function decodeSevLaunchStart(b: Uint8Array): { handle: number; policy: number; sessionUaddr: bigint; sessionLen: number } {
  const { handle, policy, sessionUaddr, sessionLen } = kvm_sev_launch_start.decode(b);
  return { handle, policy, sessionUaddr, sessionLen };
}

/** struct kvm_sev_launch_update_data, and struct kvm_sev_launch_measure, which has the same fields. */
export const kvm_sev_launch_update_data = struct('kvm_sev_launch_update_data', { uaddr: u64, len: u32, pad0: u32 });
export const SIZEOF_KVM_SEV_UADDR_LEN = kvm_sev_launch_update_data.size;
export function encodeUaddrLen(uaddr: bigint, len: number): Uint8Array {
  return kvm_sev_launch_update_data.encode({ uaddr, len });
}
export function decodeUaddrLen(b: Uint8Array): { uaddr: bigint; len: number } {
  const { uaddr, len } = kvm_sev_launch_update_data.decode(b);
  return { uaddr, len };
}

/** struct kvm_sev_launch_secret. */
export const kvm_sev_launch_secret = struct('kvm_sev_launch_secret', {
  hdrUaddr: u64, hdrLen: u32, pad0: u32, guestUaddr: u64, guestLen: u32, pad1: u32, transUaddr: u64, transLen: u32, pad2: u32,
});
export const SIZEOF_KVM_SEV_LAUNCH_SECRET = kvm_sev_launch_secret.size;
export function encodeSevLaunchSecret(v: { guestUaddr: bigint; guestLen: number; transUaddr: bigint; transLen: number }): Uint8Array {
  return kvm_sev_launch_secret.encode(v);
}
export function decodeSevLaunchSecret(b: Uint8Array): { guestUaddr: bigint; guestLen: number; transUaddr: bigint; transLen: number } {
  const { guestUaddr, guestLen, transUaddr, transLen } = kvm_sev_launch_secret.decode(b);
  return { guestUaddr, guestLen, transUaddr, transLen };
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
