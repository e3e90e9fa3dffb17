/**
 * The guest_memfd hooks SNP implements (arch/x86/kvm/svm/sev.c):
 * sev_gmem_prepare(), which assigns a page in the RMP on its first private
 * fault, and sev_gmem_invalidate(), which hands freed or converted pages
 * back to the hypervisor.
 */
import type { PlatformVm } from '../../../lib/kvm/model/platform.js';
import { PAGE, gfnOf } from '../../../lib/platform/common.js';
import type { SnpVmState } from './state.js';

/** sev_gmem_prepare(): the first private fault assigns the page (2M when the folio allows). */
export function snpGmemPrepare(vm: SnpVmState, gpa: bigint): void {
  const gfn = gfnOf(gpa);
  if (vm.rmp.get(gfn)?.assigned) return;
  const base2M = gpa & ~0x1fffffn;
  let huge = false;
  if (vm.largeFolios) {
    huge = true;
    for (let p = base2M; p < base2M + 0x200000n; p += PAGE) if (!vm.attrPrivate(p) || vm.rmp.get(gfnOf(p))?.assigned) { huge = false; break; }
  }
  vm.rmp.makePrivate(gfn, huge);
}

/** sev_gmem_invalidate() on a punched range and on 7.4's conversion towards shared. */
export function snpGmemHooks(vm: SnpVmState): Pick<PlatformVm, 'onZap' | 'onGmemConvert'> {
  return {
    onZap(gpa, size, reason) {
      // A freed gmem page goes back to the hypervisor.
      if (reason === 'punch') vm.rmp.makeSharedRange(gfnOf(gpa), gfnOf(gpa + size + PAGE - 1n));
    },
    onGmemConvert(_gpa, _size, toPrivate, existing) {
      // Towards shared, kvm_arch_gmem_invalidate() makes each guest-owned
      // page the hypervisor's again; its bytes stay what the guest's key
      // made of them, so the host now reads the ciphertext of the private
      // data [H].
      if (toPrivate) return;
      for (const pg of existing) {
        const gfn = gfnOf(pg);
        if (!vm.rmp.get(gfn)?.assigned) continue;
        const raw = vm.ctx.readBacking(pg, 4096, 'private');
        vm.rmp.makeShared(gfn);
        if (raw && vm.hostReadsCiphertext) vm.ctx.writeBacking(pg, vm.cipher.encrypt(pg, raw), 'shared');
      }
    },
  };
}
