/**
 * A VM_MODE_PXXV48_4K VM's guest address widths, from CPUID as kvm_util
 * reads it (tools/testing/selftests/kvm/lib/x86/processor.c):
 * kvm_get_cpu_address_width() takes MAXPHYADDR from KVM's supported CPUID
 * 0x80000008, and vm_compute_max_gfn() narrows the usable GFNs to the
 * guest MAXPHYADDR (EAX[23:16], when KVM reports one) and, on AMD parts of
 * 40 bits or more, below the 12 GiB HyperTransport hole. C reads the
 * vendor, family and SME reduction with the cpuid instruction on the host;
 * here they come from the backend's supported CPUID, which KVM fills from
 * the same host leaves.
 */
import type { Backend } from '../kvm/backend.js';
import { TEST_ASSERT } from './assert.js';

export interface AddressWidths {
  readonly paBits: number;
  readonly vaBits: number;
}

/** kvm_get_cpu_address_width(). */
export function kvmGetCpuAddressWidth(b: Backend): AddressWidths {
  const ext = b.supportedCpuid(0x80000000);
  if (!ext || ext.eax >>> 0 < 0x80000008) {
    const pae = ((b.supportedCpuid(1)?.edx ?? 0) >>> 6) & 1;
    return { paBits: pae ? 36 : 32, vaBits: 32 };
  }
  const eax = b.supportedCpuid(0x80000008)?.eax ?? 0;
  return { paBits: eax & 0xff, vaBits: (eax >>> 8) & 0xff };
}

function isAmd(b: Backend): boolean {
  const v = b.supportedCpuid(0);
  if (!v) return false;
  const vendor = Buffer.from(new Uint32Array([v.ebx, v.edx, v.ecx]).buffer).toString('latin1');
  return vendor === 'AuthenticAMD' || vendor === 'HygonGenuine';
}

/** x86_family(): the base family, plus the extended family when the base is 0xf. */
function family(b: Backend): number {
  const eax = b.supportedCpuid(1)?.eax ?? 0;
  const base = (eax >>> 8) & 0xf;
  return base === 0xf ? base + ((eax >>> 20) & 0xff) : base;
}

/** vm_compute_max_gfn() for x86. */
export function vmComputeMaxGfn(b: Backend, paBits: number, pageShift = 12): bigint {
  const numHtPages = 12n << BigInt(30 - pageShift);
  const guestMaxPhysAddr = ((b.supportedCpuid(0x80000008)?.eax ?? 0) >>> 16) & 0xff || paBits;
  TEST_ASSERT(guestMaxPhysAddr <= paBits, 'Guest MAXPHYADDR should never be greater than raw MAXPHYADDR');
  const maxGfn = (1n << BigInt(guestMaxPhysAddr - pageShift)) - 1n;
  if (!isAmd(b) || paBits < 40) return maxGfn;
  // Before family 17h the HyperTransport area sits just below 1 TiB.
  let htGfn = (1n << 28n) - numHtPages;
  if (family(b) >= 0x17) {
    // Otherwise at the top of the physical space, less what SME takes (0x8000001f EBX[11:6]).
    let maxPfn = (1n << BigInt(paBits - pageShift)) - 1n;
    const sme = b.supportedCpuid(0x8000001f);
    if (sme) maxPfn >>= BigInt((sme.ebx >>> 6) & 0x3f);
    htGfn = maxPfn - numHtPages;
  }
  return maxGfn < htGfn - 1n ? maxGfn : htGfn - 1n;
}
