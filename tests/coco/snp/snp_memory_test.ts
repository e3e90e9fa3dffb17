/**
 * SNP private memory as the host sees it, granularity, and guest_memfd
 * rules on an SNP VM (scenarios 19, 31, 32, 34, 35, 36).
 */
import { EFAULT } from '../../../lib/kvm/errno.js';
import { GUEST_MEMFD_FLAG_INIT_SHARED, UCALL_DONE } from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import { vmMemSetPrivate, vmSetMemoryAttributes } from '../../../lib/kvm_util/index.js';
import { cocoVmCreate, runToUcall, sourcePage } from '../../../lib/kvm_util/coco.js';
import { snpPvalidate } from '../../../platforms/snp/guest.js';
import { __snpModelHostWrite, snpLaunchFinish, snpLaunchStart, snpLaunchUpdate } from '../../../platforms/snp/host.js';
import { KVM_SEV_SNP_PAGE_TYPE_NORMAL, PVALIDATE_FAIL_SIZEMISMATCH } from '../../../platforms/snp/uapi.js';
import {
  gmemFlagsAboveReported, inplacePopulateBeforeLaunch, poisonedGmemPage, punchHoleInMappedPrivateMemory, type PrivateMemoryPlatform,
} from '../scenarios.js';

/** The VMM makes pages private; the guest PVALIDATEs them (a punched page comes back assigned but not validated). */
const SNP: PrivateMemoryPlatform = {
  name: 'snp',
  accept: (g, gpa, size) => snpPvalidate(g, gpa, { npages: size / 4096 }),
};

TEST('scenario_19_host_kernel_write_to_guest_owned_page', () => {
  const { vm, gpa } = cocoVmCreate('snp', undefined);
  snpLaunchStart(vm);
  vmMemSetPrivate(vm, gpa, 4096);
  snpLaunchUpdate(vm, { gfnStart: gpa >> 12n, uaddr: sourcePage(0x19), len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, flags: 0 });
  snpLaunchFinish(vm);
  // Writing the guest-owned page would take an RMP #PF (an oops): refused.
  const owned = __snpModelHostWrite(vm, gpa);
  ASSERT_EQ(owned.ret, -1);
  ASSERT_EQ(owned.errno, EFAULT);
  // A shared bounce page is what the host writes instead.
  ASSERT_EQ(__snpModelHostWrite(vm, gpa + 4096n).ret, 0);
});

TEST('scenario_31_punch_hole_in_mapped_private_memory', () => punchHoleInMappedPrivateMemory(SNP));

TEST('scenario_32_gmem_flags_above_reported', () => {
  // INIT_SHARED is refused for VMs with private memory.
  ASSERT_EQ(gmemFlagsAboveReported(SNP.name) & GUEST_MEMFD_FLAG_INIT_SHARED, 0n);
});

TEST('scenario_34_inplace_populate_before_launch', () => inplacePopulateBeforeLaunch({
  name: 'snp',
  start: (c) => snpLaunchStart(c.vm),
  // SNP_LAUNCH_UPDATE with uaddr = NULL: the page as written while shared.
  populateInPlace: (c) => snpLaunchUpdate(c.vm, { gfnStart: c.gpa >> 12n, uaddr: 0n, len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, flags: 0 }),
  finish: (c) => snpLaunchFinish(c.vm),
}));

async function pvalidate2M(largeFolios: boolean, mixed: boolean, expect: bigint): Promise<void> {
  const { vm, vcpu, gpa } = cocoVmCreate('snp', (g, base) => {
    snpPvalidate(g, base, { size: '2M', expect });
    g.done();
  }, { npages: 512, hardware: { largeFolios } });
  vmMemSetPrivate(vm, gpa, 2n << 20n);
  if (mixed) vmSetMemoryAttributes(vm, gpa + 8192n, 4096, 0n);
  await runToUcall(vcpu, UCALL_DONE);
}

TEST('scenario_35_uniform_2m_needs_a_large_folio', async () => {
  // Order-0 folios (upstream today): 4K RMP entries, a 2M PVALIDATE does not fit.
  await pvalidate2M(false, false, PVALIDATE_FAIL_SIZEMISMATCH);
  // A large folio over a uniform 2M range: a 2M RMP entry.
  await pvalidate2M(true, false, 0n);
});

TEST('scenario_35_mixed_2m_range_is_4k', async () => {
  await pvalidate2M(true, true, PVALIDATE_FAIL_SIZEMISMATCH);
});

TEST('scenario_36_poisoned_gmem_page', () => poisonedGmemPage(SNP));

void TEST_HARNESS_MAIN();
