/**
 * What leaving the Secure EPT does to a TD page (arch/x86/kvm/vmx/tdx.c
 * tdx_sept_remove_private_spte(), TDH.MEM.PAGE.REMOVE, then
 * tdx_clear_page()): after a punch or an attribute change the page is
 * pending again, its poison gone, and its private contents do not reach
 * the shared view.
 */
import type { PlatformVm } from '../../../lib/kvm/model/platform.js';
import { PAGE } from '../../../lib/platform/common.js';
import type { TdxVm } from './state.js';

export function tdxSeptHooks(vm: TdxVm): Pick<PlatformVm, 'onZap' | 'onGmemConvert'> {
  return {
    onZap(gpa, size) {
      // The page must be AUG'ed and accepted again.
      vm.accepted.setRange(gpa, size, false);
      vm.launch.added.setRange(gpa, size, false);
      vm.poisoned.setRange(gpa, size, false);
    },
    onGmemConvert(_gpa, _size, toPrivate, existing) {
      // 7.4 towards shared: the cleared page is what the shared view now holds.
      if (toPrivate) return;
      for (const pg of existing) vm.ctx.writeBacking(pg, new Uint8Array(Number(PAGE)), 'shared');
    },
  };
}
