/**
 * SEV-SNP guest/host protocol numbers: page-state change over the GHCB MSR
 * and the GHCB NAE (arch/x86/include/asm/sev-common.h), PVALIDATE results,
 * SNP_LAUNCH_UPDATE page types and struct layout (arch/x86/include/uapi/asm/kvm.h).
 */
import { array, struct, u16, u32, u64, u8 } from '../../lib/kvm/layout.js';

export const GHCB_MSR_PSC_REQ = 0x014n;
export const GHCB_MSR_PSC_RESP = 0x015n;
/** Set highest bit as a generic error response (sev-common.h). */
export const GHCB_MSR_PSC_RESP_ERROR = (1n << 63n) | GHCB_MSR_PSC_RESP;
export const SVM_VMGEXIT_PSC = 0x80000010n;
export const VMGEXIT_PSC_ERROR_GENERIC = 0x100n << 32n;
export const SNP_PAGE_STATE_PRIVATE = 1;
export const SNP_PAGE_STATE_SHARED = 2;

export const PVALIDATE_SUCCESS = 0n;
export const PVALIDATE_FAIL_INPUT = 1n;
export const PVALIDATE_FAIL_SIZEMISMATCH = 6n;
export const PVALIDATE_FAIL_NOUPDATE = 255n;

export const KVM_SEV_SNP_PAGE_TYPE_NORMAL = 1;
export const KVM_SEV_SNP_PAGE_TYPE_ZERO = 3;
export const KVM_SEV_SNP_PAGE_TYPE_UNMEASURED = 4;
export const KVM_SEV_SNP_PAGE_TYPE_SECRETS = 5;
export const KVM_SEV_SNP_PAGE_TYPE_CPUID = 6;
export const SNP_PAGE_TYPES = [1, 3, 4, 5, 6] as const;

/** GHCB_MSR_TERM_REQ: the guest asks the host to end it (#VC it cannot handle); SEV-ES's MSR protocol. */
export { GHCB_MSR_TERM_REQ } from '../sev/uapi.js';
/** Model-only, destructive: a host kernel write to the page of a GPA (scenario 19). */
export const KVM_SEV_MODEL_HOST_WRITE = 0x7f00;
/** Model-only: copy the 48-byte launch digest to `data` (an attestation report would carry it). */
export const KVM_SEV_MODEL_LAUNCH_DIGEST = 0x7f01;
/** Model-only: a host read of the page of a GPA; `data` holds the GPA, the page comes back after it. */
export const KVM_SEV_MODEL_HOST_READ = 0x7f02;

/** struct kvm_sev_snp_launch_start. */
export const kvm_sev_snp_launch_start = struct('kvm_sev_snp_launch_start', {
  policy: u64, gosvw: array(u8, 16), flags: u16, pad0: array(u8, 6), pad1: array(u64, 4),
});
export const SIZEOF_KVM_SEV_SNP_LAUNCH_START = kvm_sev_snp_launch_start.size;
export function encodeSnpLaunchStart(policy: bigint): Uint8Array {
  return kvm_sev_snp_launch_start.encode({ policy });
}

/** struct kvm_sev_snp_launch_update. */
export const kvm_sev_snp_launch_update = struct('kvm_sev_snp_launch_update', {
  gfnStart: u64, uaddr: u64, len: u64, type: u8, pad0: u8, flags: u16, pad1: u32, pad2: array(u64, 4),
});
export const SIZEOF_KVM_SEV_SNP_LAUNCH_UPDATE = kvm_sev_snp_launch_update.size;
export interface SnpLaunchUpdate {
  gfnStart: bigint;
  uaddr: bigint;
  len: bigint;
  type: number;
  flags: number;
}
export function encodeSnpLaunchUpdate(u: SnpLaunchUpdate): Uint8Array {
  return kvm_sev_snp_launch_update.encode(u);
}
export function decodeSnpLaunchUpdate(b: Uint8Array): SnpLaunchUpdate {
  const { gfnStart, uaddr, len, type, flags } = kvm_sev_snp_launch_update.decode(b);
  return { gfnStart, uaddr, len, type, flags };
}

/** KVM_SEV_SNP_FINISH_DATA_SIZE: the host data the guest's attestation report carries. */
export const KVM_SEV_SNP_FINISH_DATA_SIZE = 32;
/** struct kvm_sev_snp_launch_finish: the ID block and its authentication, host data, flags. */
export const kvm_sev_snp_launch_finish = struct('kvm_sev_snp_launch_finish', {
  idBlockUaddr: u64, idAuthUaddr: u64, idBlockEn: u8, authKeyEn: u8, vcekDisabled: u8,
  hostData: array(u8, KVM_SEV_SNP_FINISH_DATA_SIZE), pad0: array(u8, 3), flags: u16, pad1: array(u64, 4),
});
export const SIZEOF_KVM_SEV_SNP_LAUNCH_FINISH = kvm_sev_snp_launch_finish.size;

/** One function of the SNP CPUID page (struct snp_cpuid_fn, arch/x86/include/asm/sev.h). */
export const snp_cpuid_fn = struct('snp_cpuid_fn', {
  eaxIn: u32, ecxIn: u32, xcr0In: u64, xssIn: u64, eax: u32, ebx: u32, ecx: u32, edx: u32, reserved: u64,
});
/** SNP_CPUID_COUNT_MAX: the entries the page holds. */
export const SNP_CPUID_MAX = 64;
/** struct snp_cpuid_table: the SNP CPUID page's contents. */
export const snp_cpuid_table = struct('snp_cpuid_table', {
  count: u32, reserved1: u32, reserved2: u64, fn: array(snp_cpuid_fn, SNP_CPUID_MAX),
});
export const SNP_CPUID_ENTRY = snp_cpuid_fn.size;
export interface SnpCpuidFn {
  eaxIn: number;
  ecxIn: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}
/** The CPUID page (one 4 KiB page, the table at its start). */
export function encodeCpuidPage(fns: readonly SnpCpuidFn[]): Uint8Array {
  const b = new Uint8Array(4096);
  snp_cpuid_table.encodeInto(b, 0, { count: fns.length, fn: fns });
  return b;
}
export function decodeCpuidPage(b: Uint8Array): SnpCpuidFn[] {
  const t = snp_cpuid_table.decode(b);
  return t.fn.slice(0, Math.min(t.count, SNP_CPUID_MAX)).map(({ eaxIn, ecxIn, eax, ebx, ecx, edx }) => ({ eaxIn, ecxIn, eax, ebx, ecx, edx }));
}
