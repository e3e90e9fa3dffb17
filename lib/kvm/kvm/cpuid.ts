/**
 * The guest's CPUID, as the C selftests give every vCPU: what
 * KVM_GET_SUPPORTED_CPUID reports, set with KVM_SET_CPUID2 before the first
 * KVM_RUN (kvm_arch_vcpu_ioctl_set_cpuid2() refuses changes afterwards).
 * The vendor picks the hypercall instruction (vmcall on Intel, vmmcall on
 * AMD, as kvm_hypercall() in the selftests' processor.c does) and leaf
 * 0x80000001 EDX[26] says whether the agent may map 1 GiB pages.
 */
import type { CpuidRegs } from '../backend.js';
import { getU32, putU32 } from '../layout.js';
import { kvm_cpuid2, kvm_cpuid_entry2 } from '../structs.js';
import { KVM_GET_SUPPORTED_CPUID } from '../uapi.js';
import type { Libc } from './libc.js';

export { KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2 } from '../uapi.js';
const HEADER = kvm_cpuid2.size;
const ENTRY = kvm_cpuid_entry2.size;
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
  const n = kvm_cpuid2.decode(buf).nent;
  for (let i = 0; i < n && HEADER + (i + 1) * ENTRY <= buf.byteLength; i++) {
    const e = kvm_cpuid_entry2.decode(buf, HEADER + i * ENTRY);
    const anyIndex = !(e.flags & SIGNIFICANT_INDEX);
    if (e.function === fn >>> 0 && (anyIndex || e.index === index)) return { eax: e.eax, ebx: e.ebx, ecx: e.ecx, edx: e.edx };
  }
  return undefined;
}

/** KVM_GET_SUPPORTED_CPUID on /dev/kvm, growing the array while the kernel says E2BIG; errno on failure. */
export function getSupportedCpuid(libc: Libc, sysFd: number): SupportedCpuid | number {
  for (let nent = 128; nent <= 4096; nent *= 2) {
    const buf = new Uint8Array(HEADER + nent * ENTRY);
    putU32(buf, kvm_cpuid2.offsets.nent, nent);
    if (libc.ioctlPtr(sysFd, KVM_GET_SUPPORTED_CPUID, buf) === 0) {
      const used = getU32(buf, kvm_cpuid2.offsets.nent);
      const cpuid2 = buf.slice(0, HEADER + used * ENTRY);
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
