/**
 * The guest's CPUID, as the C selftests give every vCPU: what
 * KVM_GET_SUPPORTED_CPUID reports, set with KVM_SET_CPUID2 before the first
 * KVM_RUN (kvm_arch_vcpu_ioctl_set_cpuid2() refuses changes afterwards).
 * The vendor picks the hypercall instruction (vmcall on Intel, vmmcall on
 * AMD, as kvm_hypercall() in the selftests' processor.c does) and leaf
 * 0x80000001 EDX[26] says whether the agent may map 1 GiB pages.
 */
import type { CpuidRegs } from '../backend.js';
import type { Libc } from './libc.js';

/** _IOWR(KVMIO, 0x05, struct kvm_cpuid2). */
export const KVM_GET_SUPPORTED_CPUID = 0xc008ae05;
/** _IOW(KVMIO, 0x90, struct kvm_cpuid2). */
export const KVM_SET_CPUID2 = 0x4008ae90;
const ENTRY = 40;
const E2BIG = 7;

export interface SupportedCpuid {
  /** struct kvm_cpuid2 with its entries, ready for KVM_SET_CPUID2. */
  readonly cpuid2: Uint8Array;
  readonly vendor: 'intel' | 'amd' | 'other';
  readonly gbPages: boolean;
}

/** KVM_CPUID_FLAG_SIGNIFCANT_INDEX: the entry is for one subleaf; otherwise for all of them. */
const SIGNIFICANT_INDEX = 1;

/** The entry of a struct kvm_cpuid2 for `fn`/`index`. */
export function cpuidLeaf(buf: Uint8Array, fn: number, index = 0): CpuidRegs | undefined {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = dv.getUint32(0, true);
  for (let i = 0; i < n; i++) {
    const o = 8 + i * ENTRY;
    const anyIndex = !(dv.getUint32(o + 8, true) & SIGNIFICANT_INDEX);
    if (dv.getUint32(o, true) === fn >>> 0 && (anyIndex || dv.getUint32(o + 4, true) === index)) {
      return { eax: dv.getUint32(o + 12, true), ebx: dv.getUint32(o + 16, true), ecx: dv.getUint32(o + 20, true), edx: dv.getUint32(o + 24, true) };
    }
  }
  return undefined;
}

/** KVM_GET_SUPPORTED_CPUID on /dev/kvm, growing the array while the kernel says E2BIG; errno on failure. */
export function getSupportedCpuid(libc: Libc, sysFd: number): SupportedCpuid | number {
  for (let nent = 128; nent <= 4096; nent *= 2) {
    const buf = new Uint8Array(8 + nent * ENTRY);
    new DataView(buf.buffer).setUint32(0, nent, true);
    if (libc.ioctlPtr(sysFd, KVM_GET_SUPPORTED_CPUID, buf) === 0) {
      const used = new DataView(buf.buffer).getUint32(0, true);
      const cpuid2 = buf.slice(0, 8 + used * ENTRY);
      const v = cpuidLeaf(cpuid2, 0);
      const text = v ? Buffer.from(new Uint32Array([v.ebx, v.edx, v.ecx]).buffer).toString('latin1') : '';
      const vendor = text === 'GenuineIntel' ? 'intel' : text === 'AuthenticAMD' || text === 'HygonGenuine' ? 'amd' : 'other';
      return { cpuid2, vendor, gbPages: ((cpuidLeaf(cpuid2, 0x80000001)?.edx ?? 0) & (1 << 26)) !== 0 };
    }
    const e = libc.errno();
    if (e !== E2BIG) return e;
  }
  return E2BIG;
}
