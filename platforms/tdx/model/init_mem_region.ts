/**
 * KVM_TDX_INIT_MEM_REGION (arch/x86/kvm/vmx/tdx.c
 * tdx_vcpu_init_mem_region(), then kvm_gmem_populate() with
 * tdx_gmem_post_populate() per page: TDH.MEM.PAGE.ADD and, with
 * KVM_TDX_MEASURE_MEMORY_REGION, TDH.MR.EXTEND). The struct is written back
 * as far as the pages went, so that a VMM can resume after an error.
 */
import { err, ok, type SysResult } from '../../../lib/kvm/backend.js';
import { EFAULT, EINVAL } from '../../../lib/kvm/errno.js';
import type { PlatformVcpuContext } from '../../../lib/kvm/model/platform.js';
import { PAGE, gfnOf, isHostFault, isPageAligned } from '../../../lib/platform/common.js';
import {
  KVM_TDX_MEASURE_MEMORY_REGION, SIZEOF_KVM_TDX_INIT_MEM_REGION, decodeInitMemRegion, encodeInitMemRegion,
} from '../uapi.js';
import type { TdxVm } from './state.js';

export function tdxInitMemRegion(vm: TdxVm, vcpu: PlatformVcpuContext, flags: number, data: bigint): SysResult {
  const { ctx, launch } = vm;
  if (flags & ~KVM_TDX_MEASURE_MEMORY_REGION) return err(EINVAL);
  if (launch.state !== 'initialized' || !launch.vcpusInit.has(vcpu.vcpu)) return err(EINVAL);
  const rb = ctx.hostRead(data, SIZEOF_KVM_TDX_INIT_MEM_REGION);
  if (isHostFault(rb)) return err(EFAULT);
  const r = decodeInitMemRegion(rb);
  // Page-aligned source and GPA, non-empty, no wrap, and a private
  // (shared-bit clear) GPA.
  // 7.4 in-place conversion: a NULL source adds the page with what the VMM
  // wrote into the gmem while it was shared ("KVM: TDX: Make source page
  // optional for KVM_TDX_INIT_MEM_REGION": tdx_gmem_post_populate() uses
  // the destination pfn when gmem_in_place_conversion).
  const inPlaceSource = r.sourceAddr === 0n && ctx.profile.perGmemAttributes;
  if (!isPageAligned(r.sourceAddr) || !isPageAligned(r.gpa) || r.nrPages === 0n ||
      r.gpa + r.nrPages * PAGE <= r.gpa || (r.gpa & (1n << BigInt(vm.sharedBit()))) !== 0n) return err(EINVAL);
  let { sourceAddr, gpa, nrPages } = r;
  let e = 0;
  while (nrPages > 0n) {
    // kvm_gmem_populate(): the gfn must already be PRIVATE and gmem-backed.
    const slot = ctx.slotAt(gpa);
    if (!vm.attrPrivate(gpa) || !slot || !slot.hasGmem) { e = EINVAL; break; }
    e = launch.checkAdd(gfnOf(gpa), vm.rules);
    if (e) break;
    const src = inPlaceSource ? ctx.readBacking(gpa, Number(PAGE), 'private') : ctx.hostRead(sourceAddr, Number(PAGE));
    if (src === undefined || isHostFault(src)) { e = EFAULT; break; }
    // TDH.MEM.PAGE.ADD copies the source into the private page.
    if (!ctx.writeBacking(gpa, src, 'private')) { e = EINVAL; break; }
    launch.add(gfnOf(gpa), gpa, src, (flags & KVM_TDX_MEASURE_MEMORY_REGION) !== 0);
    vm.mapping.set(gpa, PAGE, true);
    if (!inPlaceSource) sourceAddr += PAGE;
    gpa += PAGE;
    nrPages -= 1n;
  }
  ctx.hostWrite?.(data, encodeInitMemRegion({ sourceAddr, gpa, nrPages }));
  return e ? err(e) : ok();
}
