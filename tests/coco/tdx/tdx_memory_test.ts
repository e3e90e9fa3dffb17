/**
 * TDX private memory as the host sees it, and guest_memfd rules on a TD
 * (scenarios 20, 31, 32, 34, 35, 36).
 */
import { EHWPOISON } from '../../../lib/kvm/errno.js';
import { KVM_MEMORY_EXIT_FLAG_PRIVATE, UCALL_DONE, UCALL_SYNC } from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import { vmMemSetPrivate } from '../../../lib/kvm_util/index.js';
import { cocoVmCreate, runToMemoryFault, runToUcall } from '../../../lib/kvm_util/coco.js';
import { tdxAccept } from '../../../platforms/tdx/guest.js';
import { __tdxInitMemRegion, __tdxModelHostWrite, tdxFinalizeVm, tdxInitAndFinalize, tdxInitVcpu } from '../../../platforms/tdx/host.js';
import { TDX_PAGE_SIZE_MISMATCH } from '../../../platforms/tdx/uapi.js';
import {
  gmemFlagsAboveReported, inplacePopulateBeforeLaunch, poisonedGmemPage, punchHoleInMappedPrivateMemory, type PrivateMemoryPlatform,
} from '../scenarios.js';

/** A finalised TD whose guest ACCEPTs the pages the VMM made private (a punched page needs TDH.MEM.PAGE.AUG and a new ACCEPT). */
const TDX: PrivateMemoryPlatform = {
  name: 'tdx',
  accept: (g, gpa, size) => tdxAccept(g, gpa, size),
  launch: (c) => tdxInitAndFinalize(c.vm),
};

TEST('scenario_20_host_partial_write_poisons_private_line', async () => {
  // Destructive on real hardware: the model-only host write stands in for a MOVNTI.
  const { vm, vcpu, gpa } = cocoVmCreate('tdx', (g, base) => {
    tdxAccept(g, base, 4096);
    g.memset(base, 4096, 0x11, { view: 'private' });
    g.sync(1);
    g.read(base, 64, { view: 'private' });
    g.done();
  });
  tdxInitAndFinalize(vm);
  vmMemSetPrivate(vm, gpa, 4096);
  await runToUcall(vcpu, UCALL_SYNC);
  ASSERT_EQ(__tdxModelHostWrite(vm, gpa).ret, 0);
  // The TD's next read consumes the poison: #MC, reported as EHWPOISON.
  await runToMemoryFault(vcpu, { errno: EHWPOISON, flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa, size: 4096n });
});

TEST('scenario_31_punch_hole_in_mapped_private_memory', () => punchHoleInMappedPrivateMemory(TDX));

TEST('scenario_32_gmem_flags_above_reported', () => {
  gmemFlagsAboveReported(TDX.name);
});

TEST('scenario_34_inplace_populate_before_launch', () => inplacePopulateBeforeLaunch({
  name: 'tdx',
  // KVM_TDX_INIT_VM ran in kvm_util's post-create step, before the vCPU.
  start: (c) => tdxInitVcpu(c.vcpu),
  // A NULL source: TDH.MEM.PAGE.ADD of the page as it is.
  populateInPlace: (c) => ASSERT_EQ(__tdxInitMemRegion(c.vcpu, { sourceAddr: 0n, gpa: c.gpa, nrPages: 1n, measure: true }).ret, 0),
  finish: (c) => tdxFinalizeVm(c.vm),
}));

TEST('scenario_35_no_2m_private_mappings', async () => {
  // KVM maps TD private memory at 4K only: a 2M ACCEPT meets a 4K leaf.
  const { vm, vcpu, gpa } = cocoVmCreate('tdx', (g, base) => {
    tdxAccept(g, base, 2n << 20n, { level: '2M', expect: TDX_PAGE_SIZE_MISMATCH });
    tdxAccept(g, base, 2n << 20n, { level: '4K' });
    g.memset(base, 2 << 20, 0x5c, { view: 'private' });
    g.done();
  }, { npages: 512 });
  tdxInitAndFinalize(vm);
  vmMemSetPrivate(vm, gpa, 2n << 20n);
  await runToUcall(vcpu, UCALL_DONE);
});

TEST('scenario_36_poisoned_gmem_page', () => poisonedGmemPage(TDX));

void TEST_HARNESS_MAIN();
