/**
 * KVM_SEV_SNP_LAUNCH_UPDATE (arch/x86/kvm/svm/sev.c snp_launch_update(),
 * then kvm_gmem_populate() with sev_gmem_post_populate() per page: the
 * SEV-SNP firmware ABI's SNP_LAUNCH_UPDATE command). The struct is
 * written back as far as the pages went, so that a VMM can resume after
 * -EAGAIN or an error.
 */
import { EAGAIN, EEXIST, EFAULT, EINVAL, EIO } from '../../../lib/kvm/errno.js';
import { PAGE, isPageAligned } from '../../../lib/platform/common.js';
import type { SevOpHandler } from '../../sev/encrypt_op.js';
import { SEV_RET_INVALID_GUEST_STATE, SEV_RET_INVALID_PARAM } from '../../sev/uapi.js';
import { DEFAULT_SNP_CPUID_ALLOWED, snpCheckCpuid } from '../launch.js';
import {
  KVM_SEV_SNP_PAGE_TYPE_CPUID, KVM_SEV_SNP_PAGE_TYPE_ZERO, SIZEOF_KVM_SEV_SNP_LAUNCH_UPDATE, SNP_PAGE_TYPES,
  decodeCpuidPage, decodeSnpLaunchUpdate, encodeCpuidPage, encodeSnpLaunchUpdate,
} from '../uapi.js';
import type { SnpVmState } from './state.js';

export function snpLaunchUpdate(vm: SnpVmState): SevOpHandler {
  const { ctx, launch, rmp } = vm;
  return (op) => {
    const b = op.readData(SIZEOF_KVM_SEV_SNP_LAUNCH_UPDATE);
    if (!b) return { errno: EFAULT };
    const u = decodeSnpLaunchUpdate(b);
    // A started launch, a non-zero 4K-multiple length, no flags, a known page type.
    if (launch.state === 'init') return { errno: EINVAL };
    if (u.len === 0n || !isPageAligned(u.len) || u.flags !== 0 || !(SNP_PAGE_TYPES as readonly number[]).includes(u.type)) return { errno: EINVAL };
    const zero = u.type === KVM_SEV_SNP_PAGE_TYPE_ZERO;
    // Only ZERO ignores uaddr, unless 7.4's in-place conversion lets a NULL
    // source mean "the page as the VMM wrote it while shared" ("KVM: SEV:
    // Make 'uaddr' parameter optional for KVM_SEV_SNP_LAUNCH_UPDATE":
    // sev_gmem_post_populate() refuses a NULL source only without
    // gmem_in_place_conversion).
    const inPlaceSource = !zero && u.uaddr === 0n && ctx.profile.perGmemAttributes;
    if (!zero && u.uaddr === 0n && !inPlaceSource) return { errno: EINVAL };
    if (!zero && vm.rules === '7.0' && !isPageAligned(u.uaddr)) return { errno: EINVAL };
    if (launch.state === 'finished') return { errno: EIO, fwError: SEV_RET_INVALID_GUEST_STATE };
    let done = 0n;
    while (u.len > 0n) {
      if (vm.batch > 0n && done === vm.batch) {
        op.writeData(encodeSnpLaunchUpdate(u));
        return { errno: EAGAIN };
      }
      const gpa = u.gfnStart * PAGE;
      const slot = ctx.slotAt(gpa);
      // kvm_gmem_populate(): PRIVATE attribute and a gmem slot, else -EINVAL.
      if (!slot || !slot.hasGmem || !vm.attrPrivate(gpa)) { op.writeData(encodeSnpLaunchUpdate(u)); return { errno: EINVAL }; }
      // sev_gmem_post_populate(): the RMP entry must still be shared.
      if (rmp.get(u.gfnStart)?.assigned) { op.writeData(encodeSnpLaunchUpdate(u)); return { errno: EEXIST }; }
      let page = zero ? new Uint8Array(4096) : inPlaceSource ? ctx.readBacking(gpa, 4096, 'private') : op.readHost(u.uaddr, 4096);
      if (!page) { op.writeData(encodeSnpLaunchUpdate(u)); return { errno: EFAULT }; }
      if (u.type === KVM_SEV_SNP_PAGE_TYPE_CPUID) {
        const chk = snpCheckCpuid(decodeCpuidPage(page), DEFAULT_SNP_CPUID_ALLOWED);
        if (!chk.ok) {
          // The firmware writes the values it expects; KVM copies them back to uaddr.
          op.writeHost(u.uaddr, encodeCpuidPage(chk.corrected));
          op.writeData(encodeSnpLaunchUpdate(u));
          return { errno: EIO, fwError: SEV_RET_INVALID_PARAM };
        }
        page = Uint8Array.from(page);
      }
      ctx.writeBacking(gpa, page, 'private');
      rmp.makePrivate(u.gfnStart);
      // The firmware validates launched pages.
      rmp.get(u.gfnStart)!.validated = true;
      vm.mapping.set(gpa, PAGE, true);
      launch.measurePage(gpa, u.type, page);
      u.gfnStart += 1n;
      if (!zero && !inPlaceSource) u.uaddr += PAGE;
      u.len -= PAGE;
      done++;
    }
    op.writeData(encodeSnpLaunchUpdate(u));
    return { errno: 0 };
  };
}
