/**
 * The TDX part of KVM_MEMORY_ENCRYPT_OP (arch/x86/include/uapi/asm/kvm.h,
 * enum kvm_tdx_cmd_id) and the guest-visible status codes of TDG.VP.VMCALL
 * (arch/x86/include/asm/shared/tdx.h) and TDG.MEM.PAGE.ACCEPT.
 */
import { array, struct, u32, u64 } from '../../lib/kvm/layout.js';
import { kvm_cpuid2, kvm_cpuid_entry2 } from '../../lib/kvm/structs.js';

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

/** struct kvm_tdx_cmd: the argument of KVM_MEMORY_ENCRYPT_OP on a TD; `hw_error` is the TDX module's status, written back. */
export const kvm_tdx_cmd = struct('kvm_tdx_cmd', { id: u32, flags: u32, data: u64, hwError: u64 });
export const SIZEOF_KVM_TDX_CMD = kvm_tdx_cmd.size;
export function encodeTdxCmd(c: { id: number; flags?: number; data?: bigint }): Uint8Array {
  return kvm_tdx_cmd.encode(c);
}
export function decodeTdxCmd(b: Uint8Array): { id: number; flags: number; data: bigint; hwError: bigint } {
  return kvm_tdx_cmd.decode(b);
}

/** struct kvm_tdx_init_mem_region. */
export const kvm_tdx_init_mem_region = struct('kvm_tdx_init_mem_region', { sourceAddr: u64, gpa: u64, nrPages: u64 });
export const SIZEOF_KVM_TDX_INIT_MEM_REGION = kvm_tdx_init_mem_region.size;
export function encodeInitMemRegion(r: { sourceAddr: bigint; gpa: bigint; nrPages: bigint }): Uint8Array {
  return kvm_tdx_init_mem_region.encode(r);
}
export function decodeInitMemRegion(b: Uint8Array): { sourceAddr: bigint; gpa: bigint; nrPages: bigint } {
  return kvm_tdx_init_mem_region.decode(b);
}

/**
 * struct kvm_tdx_init_vm: TD_PARAMS' 256 bytes (the three SHA-384 digests
 * and reserved space), then a struct kvm_cpuid2 whose entries follow the
 * struct (a flexible array member, so not part of its size).
 */
export const kvm_tdx_init_vm = struct('kvm_tdx_init_vm', {
  attributes: u64, xfam: u64, mrconfigid: array(u64, 6), mrowner: array(u64, 6), mrownerconfig: array(u64, 6),
  reserved: array(u64, 12), cpuid: kvm_cpuid2,
});
export const SIZEOF_KVM_TDX_INIT_VM = kvm_tdx_init_vm.size;
/** KVM_MAX_CPUID_ENTRIES (arch/x86/include/asm/kvm_host.h): the most cpuid.nent tdx_td_init() takes. */
export const KVM_MAX_CPUID_ENTRIES = 256;
export const SIZEOF_KVM_CPUID_ENTRY2 = kvm_cpuid_entry2.size;
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
  kvm_tdx_init_vm.encodeInto(b, 0, { attributes: v.attributes, xfam: v.xfam, cpuid: { nent: entries.length } });
  entries.forEach((e, i) => kvm_cpuid_entry2.encodeInto(b, SIZEOF_KVM_TDX_INIT_VM + i * SIZEOF_KVM_CPUID_ENTRY2, { ...e, function: e.fn }));
  return b;
}
export function decodeCpuidEntries(b: Uint8Array, nent: number): CpuidEntry[] {
  const out: CpuidEntry[] = [];
  for (let i = 0; i < nent; i++) {
    const o = i * SIZEOF_KVM_CPUID_ENTRY2;
    if (o + SIZEOF_KVM_CPUID_ENTRY2 > b.length) break;
    const e = kvm_cpuid_entry2.decode(b, o);
    out.push({ fn: e.function, index: e.index, eax: e.eax, ebx: e.ebx, ecx: e.ecx, edx: e.edx });
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

/** KVM_INTERRUPT: used to make an IRQ pending for MapGPA RETRY. */
export { KVM_INTERRUPT } from '../../lib/kvm/uapi.js';
