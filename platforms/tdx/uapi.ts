/**
 * The TDX part of KVM_MEMORY_ENCRYPT_OP (arch/x86/include/uapi/asm/kvm.h,
 * enum kvm_tdx_cmd_id) and the guest-visible status codes of TDG.VP.VMCALL
 * (arch/x86/include/asm/shared/tdx.h) and TDG.MEM.PAGE.ACCEPT.
 */
import { setU32, setU64, u32, u64 } from '../../lib/platform/common.js';

export const KVM_TDX_CAPABILITIES = 0;
export const KVM_TDX_INIT_VM = 1;
export const KVM_TDX_INIT_VCPU = 2;
export const KVM_TDX_INIT_MEM_REGION = 3;
export const KVM_TDX_FINALIZE_VM = 4;
export const KVM_TDX_GET_CPUID = 5;
/** Model-only, destructive: a host kernel partial write (MOVNTI) to the private page of a GPA (scenario 20). */
export const KVM_TDX_MODEL_HOST_WRITE = 0x7f00;
/** Model-only: copy the 48-byte MRTD to `data` (a TD report would carry it). */
export const KVM_TDX_MODEL_GET_MRTD = 0x7f01;
/** Model-only: a host (non-TD) read of the page of a GPA; `data` holds the GPA, the page comes back after it. */
export const KVM_TDX_MODEL_HOST_READ = 0x7f02;

export const KVM_TDX_MEASURE_MEMORY_REGION = 1 << 0;

/** struct kvm_tdx_cmd { u32 id; u32 flags; u64 data; u64 hw_error; } */
export const SIZEOF_KVM_TDX_CMD = 24;
export function encodeTdxCmd(c: { id: number; flags?: number; data?: bigint }): Uint8Array {
  const b = new Uint8Array(SIZEOF_KVM_TDX_CMD);
  setU32(b, 0, c.id);
  setU32(b, 4, c.flags ?? 0);
  setU64(b, 8, c.data ?? 0n);
  return b;
}
export function decodeTdxCmd(b: Uint8Array): { id: number; flags: number; data: bigint; hwError: bigint } {
  return { id: u32(b, 0), flags: u32(b, 4), data: u64(b, 8), hwError: u64(b, 16) };
}

/** struct kvm_tdx_init_mem_region { u64 source_addr; u64 gpa; u64 nr_pages; } */
export const SIZEOF_KVM_TDX_INIT_MEM_REGION = 24;
export function encodeInitMemRegion(r: { sourceAddr: bigint; gpa: bigint; nrPages: bigint }): Uint8Array {
  const b = new Uint8Array(SIZEOF_KVM_TDX_INIT_MEM_REGION);
  setU64(b, 0, r.sourceAddr);
  setU64(b, 8, r.gpa);
  setU64(b, 16, r.nrPages);
  return b;
}
export function decodeInitMemRegion(b: Uint8Array): { sourceAddr: bigint; gpa: bigint; nrPages: bigint } {
  return { sourceAddr: u64(b, 0), gpa: u64(b, 8), nrPages: u64(b, 16) };
}

/**
 * struct kvm_tdx_init_vm: attributes, xfam, mrconfigid[6], mrowner[6],
 * mrownerconfig[6], reserved[12] (256 bytes), then struct kvm_cpuid2
 * { u32 nent; u32 padding; entries[] } with 40-byte kvm_cpuid_entry2.
 */
export const SIZEOF_KVM_TDX_INIT_VM = 256 + 8;
/** KVM_MAX_CPUID_ENTRIES (arch/x86/include/asm/kvm_host.h): the most cpuid.nent tdx_td_init() takes. */
export const KVM_MAX_CPUID_ENTRIES = 256;
export const SIZEOF_KVM_CPUID_ENTRY2 = 40;
export interface CpuidEntry {
  readonly fn: number;
  readonly index: number;
  readonly eax: number;
  readonly ebx: number;
  readonly ecx: number;
  readonly edx: number;
}
export function encodeTdxInitVm(v: { attributes?: bigint; xfam?: bigint; cpuid?: readonly CpuidEntry[] } = {}): Uint8Array {
  const entries = v.cpuid ?? [];
  const b = new Uint8Array(SIZEOF_KVM_TDX_INIT_VM + entries.length * SIZEOF_KVM_CPUID_ENTRY2);
  setU64(b, 0, v.attributes ?? 0n);
  setU64(b, 8, v.xfam ?? 0n);
  setU32(b, 256, entries.length);
  entries.forEach((e, i) => {
    const o = SIZEOF_KVM_TDX_INIT_VM + i * SIZEOF_KVM_CPUID_ENTRY2;
    setU32(b, o, e.fn);
    setU32(b, o + 4, e.index);
    setU32(b, o + 12, e.eax);
    setU32(b, o + 16, e.ebx);
    setU32(b, o + 20, e.ecx);
    setU32(b, o + 24, e.edx);
  });
  return b;
}
export function decodeCpuidEntries(b: Uint8Array, nent: number): CpuidEntry[] {
  const out: CpuidEntry[] = [];
  for (let i = 0; i < nent; i++) {
    const o = i * SIZEOF_KVM_CPUID_ENTRY2;
    if (o + SIZEOF_KVM_CPUID_ENTRY2 > b.length) break;
    out.push({ fn: u32(b, o), index: u32(b, o + 4), eax: u32(b, o + 12), ebx: u32(b, o + 16), ecx: u32(b, o + 20), edx: u32(b, o + 24) });
  }
  return out;
}

/* TDG.VP.VMCALL status codes (r10). */
export const TDVMCALL_STATUS_SUCCESS = 0n;
export const TDVMCALL_STATUS_RETRY = 1n;
export const TDVMCALL_STATUS_INVALID_OPERAND = 0x8000000000000000n;
export const TDVMCALL_STATUS_ALIGN_ERROR = 0x8000000000000002n;
export const TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED = 0x8000000000000003n;

/* TDG.MEM.PAGE.ACCEPT completion status (TDX module ABI) [H]. */
export const TDX_SUCCESS = 0n;
export const TDX_PAGE_ALREADY_ACCEPTED = 0x00000b0a00000000n;
export const TDX_PAGE_SIZE_MISMATCH = 0xc0000b0b00000000n;

/** KVM_INTERRUPT: _IOW(KVMIO, 0x86, struct kvm_interrupt) — used to make an IRQ pending for MapGPA RETRY. */
export const KVM_INTERRUPT = 0x4004ae86;
