/**
 * pKVM guest operations for test programs: the SMCCC calls of
 * drivers/virt/coco/pkvm-guest/arm-pkvm-guest.c, handled at EL2 without an
 * exit to the VMM.
 */
import type { GuestBuilder } from '../../lib/guest/builder.js';
import { SMCCC_RET_SUCCESS } from './model.js';
import type { Num } from '../../lib/libc/int.js';

/** ARM_SMCCC_KVM_FUNC_MEM_SHARE (0xC6000003): share one granule with the host. */
export function pkvmMemShare(g: GuestBuilder, ipa: Num, expect = SMCCC_RET_SUCCESS): void {
  g.platform('pkvm.mem_share', { ipa: BigInt(ipa) }, { expect, expr: 'MEM_SHARE == SMCCC_RET_SUCCESS' });
}

/** ARM_SMCCC_KVM_FUNC_MEM_UNSHARE (0xC6000004). */
export function pkvmMemUnshare(g: GuestBuilder, ipa: Num, expect = SMCCC_RET_SUCCESS): void {
  g.platform('pkvm.mem_unshare', { ipa: BigInt(ipa) }, { expect, expr: 'MEM_UNSHARE == SMCCC_RET_SUCCESS' });
}

/** [A] MEM_RELINQUISH: give the page back to the host, zeroed. */
export function pkvmMemRelinquish(g: GuestBuilder, ipa: Num, expect = SMCCC_RET_SUCCESS): void {
  g.platform('pkvm.mem_relinquish', { ipa: BigInt(ipa) }, { expect, expr: 'MEM_RELINQUISH == SMCCC_RET_SUCCESS' });
}

/** ARM_SMCCC_KVM_FUNC_HYP_MEMINFO (0xC6000002): the protection granule. */
export function pkvmHypMeminfo(g: GuestBuilder, expect = 4096n): void {
  g.platform('pkvm.hyp_meminfo', {}, { expect, expr: 'HYP_MEMINFO == PAGE_SIZE' });
}
