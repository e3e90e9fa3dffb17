/**
 * The model's KVM_GET_SUPPORTED_CPUID: only the leaves kvm_util reads to
 * size a VM (kvm_get_cpu_address_width(), vm_compute_max_gfn()). The model
 * host is an Intel-vendor x86-64 part with the model's guest physical
 * width, so no AMD HyperTransport hole is carved out of the GPA space.
 */
import type { CpuidRegs } from '../backend.js';

const ascii = (s: string): number => Buffer.from(s, 'latin1').readUInt32LE(0);

export function modelSupportedCpuid(maxPhysBits: number, fn: number, index = 0): CpuidRegs | undefined {
  if (index !== 0) return undefined;
  switch (fn >>> 0) {
    case 0:
      return { eax: 0xd, ebx: ascii('Genu'), edx: ascii('ineI'), ecx: ascii('ntel') };
    case 1:
      // Family 6; EDX: FPU, PAE (bit 6), CX8, APIC, PGE, CMOV, PAT, FXSR, SSE, SSE2.
      return { eax: 0x000906a0, ebx: 0, ecx: 0, edx: 0x07808141 | (1 << 6) | (1 << 25) | (1 << 26) };
    case 0x80000000:
      return { eax: 0x80000008, ebx: 0, ecx: 0, edx: 0 };
    case 0x80000008:
      // MAXPHYADDR in [7:0], linear width in [15:8]; guest MAXPHYADDR [23:16] 0 means "the same".
      return { eax: maxPhysBits | (48 << 8), ebx: 0, ecx: 0, edx: 0 };
    default:
      return undefined;
  }
}
