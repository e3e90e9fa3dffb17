/**
 * SEV-SNP guest/host protocol numbers: page-state change over the GHCB MSR
 * and the GHCB NAE (arch/x86/include/asm/sev-common.h), PVALIDATE results,
 * SNP_LAUNCH_UPDATE page types and struct layout (arch/x86/include/uapi/asm/kvm.h).
 */
import { dv, setU64, u64 } from '../../lib/platform/common.js';

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

/** struct kvm_sev_snp_launch_start { u64 policy; u8 gosvw[16]; u16 flags; u8 pad0[6]; u64 pad1[4]; } */
export const SIZEOF_KVM_SEV_SNP_LAUNCH_START = 64;
export function encodeSnpLaunchStart(policy: bigint): Uint8Array {
  const b = new Uint8Array(SIZEOF_KVM_SEV_SNP_LAUNCH_START);
  setU64(b, 0, policy);
  return b;
}

/** struct kvm_sev_snp_launch_update { u64 gfn_start; u64 uaddr; u64 len; u8 type; u8 pad0; u16 flags; u32 pad1; u64 pad2[4]; } */
export const SIZEOF_KVM_SEV_SNP_LAUNCH_UPDATE = 64;
export interface SnpLaunchUpdate {
  gfnStart: bigint;
  uaddr: bigint;
  len: bigint;
  type: number;
  flags: number;
}
export function encodeSnpLaunchUpdate(u: SnpLaunchUpdate): Uint8Array {
  const b = new Uint8Array(SIZEOF_KVM_SEV_SNP_LAUNCH_UPDATE);
  setU64(b, 0, u.gfnStart);
  setU64(b, 8, u.uaddr);
  setU64(b, 16, u.len);
  b[24] = u.type;
  dv(b).setUint16(26, u.flags, true);
  return b;
}
export function decodeSnpLaunchUpdate(b: Uint8Array): SnpLaunchUpdate {
  return { gfnStart: u64(b, 0), uaddr: u64(b, 8), len: u64(b, 16), type: b[24]!, flags: dv(b).getUint16(26, true) };
}

/** struct kvm_sev_snp_launch_finish (id block/auth pointers, flags, host_data); 104 bytes. */
export const SIZEOF_KVM_SEV_SNP_LAUNCH_FINISH = 104;

/**
 * The SNP CPUID page: u32 count, u32 reserved, u64 reserved, then up to 64
 * entries of { u32 eax_in, ecx_in; u64 xcr0_in, xss_in; u32 eax, ebx, ecx, edx; u64 reserved } (48 bytes).
 */
export const SNP_CPUID_ENTRY = 48;
export const SNP_CPUID_MAX = 64;
export interface SnpCpuidFn {
  eaxIn: number;
  ecxIn: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}
export function encodeCpuidPage(fns: readonly SnpCpuidFn[]): Uint8Array {
  const b = new Uint8Array(4096);
  const d = dv(b);
  d.setUint32(0, fns.length, true);
  fns.forEach((f, i) => {
    const o = 16 + i * SNP_CPUID_ENTRY;
    d.setUint32(o, f.eaxIn, true);
    d.setUint32(o + 4, f.ecxIn, true);
    d.setUint32(o + 24, f.eax, true);
    d.setUint32(o + 28, f.ebx, true);
    d.setUint32(o + 32, f.ecx, true);
    d.setUint32(o + 36, f.edx, true);
  });
  return b;
}
export function decodeCpuidPage(b: Uint8Array): SnpCpuidFn[] {
  const d = dv(b);
  const n = Math.min(d.getUint32(0, true), SNP_CPUID_MAX);
  const out: SnpCpuidFn[] = [];
  for (let i = 0; i < n; i++) {
    const o = 16 + i * SNP_CPUID_ENTRY;
    out.push({ eaxIn: d.getUint32(o, true), ecxIn: d.getUint32(o + 4, true), eax: d.getUint32(o + 24, true), ebx: d.getUint32(o + 28, true), ecx: d.getUint32(o + 32, true), edx: d.getUint32(o + 36, true) });
  }
  return out;
}
