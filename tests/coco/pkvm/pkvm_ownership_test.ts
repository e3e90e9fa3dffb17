/**
 * pKVM page ownership as merged in 7.1 (reference/platforms.md §2.5;
 * scenarios 21, 22, 23, 37): donation of the VMM's anonymous memory at the guest's
 * first fault, MEM_SHARE/MEM_UNSHARE at EL2 with no VMM exit, SIGSEGV
 * (SEGV_ACCERR) for the VMM on a guest-owned page, zeroed pages on
 * relinquish and teardown, and a page the host kernel reclaimed by force:
 * cleared, the host's again, and KVM_RUN -EFAULT whenever the guest touches it.
 */
import { EFAULT } from '../../../lib/kvm/errno.js';
import { KVM_EXIT_UNKNOWN } from '../../../lib/kvm/model/exits.js';
import { UCALL_DONE, UCALL_SYNC } from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import { __vcpuRun, hostFill, hostRead, hostWrite, requireModel, vmIoctl } from '../../../lib/kvm_util/index.js';
import { KVM_PKVM_MODEL_HOST_KERNEL_ACCESS } from '../../../platforms/pkvm/uapi.js';
import { COCO_TEST_GPA, cocoVmCreate, expectHostFault, runToUcall } from '../../../lib/kvm_util/coco.js';
import { pkvmHypMeminfo, pkvmMemRelinquish, pkvmMemShare, pkvmMemUnshare } from '../../../platforms/pkvm/guest.js';

// runToUcall() allows no other exit: pKVM conversions never reach the VMM.

/** The VMM's access to a page the guest owns: EL2 refuses the stage-2 access. */
const expectSegv = (access: () => unknown): unknown => expectHostFault(access, 'SIGSEGV', 'SEGV_ACCERR');

TEST('scenario_21_vmm_read_of_donated_page', async () => {
  const { vcpu, region } = cocoVmCreate('pkvm', (g, base) => {
    pkvmHypMeminfo(g);
    g.memset(base, 4096, 0x21);
    g.sync(1);
    pkvmMemShare(g, base);
    g.sync(2);
    pkvmMemUnshare(g, base);
    g.sync(3);
    g.done();
  }, { npages: 4, gmem: false });
  const hva = region!.hva;
  await runToUcall(vcpu, UCALL_SYNC);
  expectSegv(() => hostRead(hva, 8));
  await runToUcall(vcpu, UCALL_SYNC);
  ASSERT_EQ(hostRead(hva, 4096).every((b) => b === 0x21), true);
  await runToUcall(vcpu, UCALL_SYNC);
  expectSegv(() => hostRead(hva, 8));
  await runToUcall(vcpu, UCALL_DONE);
});

TEST('scenario_22_payload_before_run_then_donation', async () => {
  const { vm, vcpu, region } = cocoVmCreate('pkvm', (g, base) => {
    g.memcmp(base, 4096, 0x22);
    g.memset(base + 4096n, 4096, 0x23);
    g.sync(1);
    pkvmMemRelinquish(g, base);
    g.sync(2);
    g.done();
  }, { npages: 4, gmem: false });
  const hva = region!.hva;
  // Written before the first run: the guest sees it after donation.
  hostFill(hva, 4096, 0x22);
  await runToUcall(vcpu, UCALL_SYNC);
  // Written after donation: SIGSEGV.
  expectSegv(() => hostWrite(hva, new Uint8Array(8)));
  await runToUcall(vcpu, UCALL_SYNC);
  // Relinquished: back to the host, zeroed by EL2.
  ASSERT_EQ(hostRead(hva, 4096).every((b) => b === 0), true);
  await runToUcall(vcpu, UCALL_DONE);
  // Teardown reclaims the rest, zeroed.
  const b = vm.backend;
  b.close(vcpu.fd);
  b.close(vm.fd);
  ASSERT_EQ(hostRead(hva + 4096n, 4096).every((x) => x === 0), true);
});

TEST('scenario_23_mem_share_of_a_page_not_faulted_in', async () => {
  const { vcpu, region } = cocoVmCreate('pkvm', (g, base) => {
    // Never touched: the share goes through the data-abort path first [A].
    pkvmMemShare(g, base + 4096n);
    g.sync(1);
    g.memcmp(base + 4096n, 4096, 0x5e);
    g.done();
  }, { npages: 4, gmem: false });
  await runToUcall(vcpu, UCALL_SYNC);
  // Shared: the VMM reads and writes it, the guest sees the write.
  hostFill(region!.hva + 4096n, 4096, 0x5e);
  await runToUcall(vcpu, UCALL_DONE);
});

TEST('scenario_37_host_kernel_access_poisons_the_guest_page', async () => {
  requireModel('a host kernel access to a donated page');
  const { vm, vcpu, region } = cocoVmCreate('pkvm', (g, base) => {
    g.memset(base, 4096, 0x24);
    g.memset(base + 4096n, 4096, 0x25);
    g.sync(1);
    g.memcmp(base + 4096n, 4096, 0x25);
    g.memcmp(base, 4096, 0x24);
    g.done();
  }, { npages: 4, gmem: false });
  const hva = region!.hva;
  await runToUcall(vcpu, UCALL_SYNC);
  expectSegv(() => hostRead(hva, 8));
  // The kernel's access reclaims the page: it succeeds, and sees the page cleared.
  vmIoctl(vm, KVM_PKVM_MODEL_HOST_KERNEL_ACCESS, COCO_TEST_GPA);
  ASSERT_EQ(hostRead(hva, 4096).every((b) => b === 0), true);
  hostFill(hva, 4096, 0x77);
  // The other page is still the guest's; the poisoned one ends every run with -EFAULT.
  for (let i = 0; i < 2; i++) {
    const r = await __vcpuRun(vcpu);
    ASSERT_EQ(r.ret, -1);
    ASSERT_EQ(r.errno, EFAULT);
    ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_UNKNOWN);
  }
  expectSegv(() => hostRead(hva + 4096n, 8));
});

void TEST_HARNESS_MAIN();
