/**
 * pKVM page ownership (reference/platforms.md §2.5; scenarios 21, 22, 23):
 * donation at the guest's first fault, MEM_SHARE/MEM_UNSHARE at EL2 with no
 * VMM exit, SIGSEGV (SEGV_ACCERR) for the VMM on a guest-owned page, zeroed
 * pages on relinquish and teardown.
 */
import { UCALL_DONE, UCALL_SYNC } from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import { hostFill, hostRead, hostWrite } from '../../../lib/kvm_util/index.js';
import { cocoVmCreate, expectHostFault, runToUcall } from '../../../lib/platform/testing.js';
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

void TEST_HARNESS_MAIN();
