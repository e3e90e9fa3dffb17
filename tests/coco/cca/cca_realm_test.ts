/**
 * CCA realms (reference/platforms.md §2.6; scenarios 8, 9, 24, 25, 26, 31,
 * 32, 36): populate before activation, RSI_IPA_STATE_SET as a memory-fault
 * exit, SEA on a protected access to RIPAS EMPTY, SIGBUS for the VMM.
 */
import { EFAULT, EINVAL, EOPNOTSUPP, EPERM } from '../../../lib/kvm/errno.js';
import {
  GUEST_MEMFD_FLAG_MMAP, KVM_CAP_GUEST_MEMFD_FLAGS, KVM_EXIT_SYSTEM_EVENT, KVM_MEMORY_EXIT_FLAG_PRIVATE, MAP_SHARED, PROT_READ,
  PROT_WRITE, UCALL_DONE, UCALL_SYNC,
} from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, ASSERT_TRUE, SKIP, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import {
  _vcpuRun, hostFill, hostRead, mmap, vmCheckCap, vmCreateGuestMemfd, vmMemSetPrivate, vmMemSetShared, type KvmVcpu,
} from '../../../lib/kvm_util/index.js';
import { cocoVmCreate, expectHostFault, runToMemoryFault, runToUcall, sourcePage } from '../../../lib/kvm_util/coco.js';
import { ccaRsiIpaStateSet } from '../../../platforms/cca/guest.js';
import { __rmiPopulate, ccaModelRim, expectedRim, rmiPopulate } from '../../../platforms/cca/host.js';
import { toHex } from '../../../lib/platform/digest.js';
import { KVM_SYSTEM_EVENT_CRASH, RSI_REJECT } from '../../../platforms/cca/uapi.js';
import { gmemFlagsAboveReported, poisonedGmemPage, punchHoleInMappedPrivateMemory } from '../scenarios.js';

/** RSI_IPA_STATE_SET reaches the VMM as a memory-fault exit: PRIVATE for RAM, 0 for EMPTY. */
async function expectRipasExit(vcpu: KvmVcpu, gpa: bigint, size: bigint, toRam: boolean): Promise<void> {
  await runToMemoryFault(vcpu, { errno: EFAULT, flags: toRam ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0n, gpa, size });
}

TEST('scenario_08_populate_source_not_4k_aligned', () => {
  const { vm, gpa } = cocoVmCreate('cca', undefined);
  vmMemSetPrivate(vm, gpa, 4096);
  const r = __rmiPopulate(vm, { base: gpa, size: 4096n, sourceUaddr: sourcePage(1, 2) + 64n, measure: true });
  ASSERT_EQ(r.errno, EINVAL);
  // A NULL source is not supported at all.
  ASSERT_EQ(__rmiPopulate(vm, { base: gpa, size: 4096n, sourceUaddr: 0n, measure: true }).errno, EOPNOTSUPP);
});

TEST('scenario_09_populate_after_first_run', async () => {
  const { vm, vcpu, gpa } = cocoVmCreate('cca', (g, base) => {
    g.memcmp(base, 4096, 0x09, { view: 'private' });
    g.done();
  });
  vmMemSetPrivate(vm, gpa, 8192);
  rmiPopulate(vm, { base: gpa, size: 4096n, sourceUaddr: sourcePage(0x09), measure: true });
  // The first KVM_RUN activates the realm.
  await runToUcall(vcpu, UCALL_DONE);
  const r = __rmiPopulate(vm, { base: gpa + 4096n, size: 4096n, sourceUaddr: sourcePage(0x09), measure: true });
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EPERM);
});

async function launchMeasured(measure: boolean): Promise<string> {
  const { vm, vcpu, gpa } = cocoVmCreate('cca', (g, base) => {
    g.memcmp(base, 4096, 0x44, { view: 'private' });
    g.done();
  });
  vmMemSetPrivate(vm, gpa, 4096);
  rmiPopulate(vm, { base: gpa, size: 4096n, sourceUaddr: sourcePage(0x44), measure });
  await runToUcall(vcpu, UCALL_DONE);
  const rim = toHex(ccaModelRim(vm));
  ASSERT_EQ(rim, toHex(expectedRim([{ ipa: gpa, data: new Uint8Array(4096).fill(0x44), measure }], 1)));
  return rim;
}

TEST('populate_with_and_without_measure_rim', async () => {
  // Same content for the guest; only MEASURE puts it in the RIM.
  ASSERT_TRUE((await launchMeasured(true)) !== (await launchMeasured(false)));
});

TEST('scenario_24_ripas_empty_then_protected_access_is_sea', async () => {
  const { vm, vcpu, gpa, region } = cocoVmCreate('cca', (g, base) => {
    ccaRsiIpaStateSet(g, base, base + 4096n, 'empty');
    // The unprotected alias reaches the VMM's shared memory...
    g.memcmp(base, 4096, 0x24, { view: 'shared' });
    g.sync(1);
    // ...the protected alias of an EMPTY granule is an SEA.
    g.read(base, 8, { view: 'private' });
    g.done();
  });
  await expectRipasExit(vcpu, gpa, 4096n, false);
  vmMemSetShared(vm, gpa, 4096);
  hostFill(region!.hva, 4096, 0x24);
  await runToUcall(vcpu, UCALL_SYNC);
  const r = await _vcpuRun(vcpu);
  ASSERT_EQ(r.ret, 0);
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_SYSTEM_EVENT);
  ASSERT_EQ(vcpu.run.systemEventType, KVM_SYSTEM_EVENT_CRASH);
});

TEST('scenario_25_ripas_change_rejected_by_host', async () => {
  const { vm, vcpu, gpa } = cocoVmCreate('cca', (g, base) => {
    ccaRsiIpaStateSet(g, base, base + 4096n, 'empty', RSI_REJECT);
    // RIPAS is still RAM: protected accesses keep working.
    g.memset(base, 4096, 0x25, { view: 'private' });
    g.memcmp(base, 4096, 0x25, { view: 'private' });
    g.done();
  });
  vmMemSetPrivate(vm, gpa, 4096);
  await expectRipasExit(vcpu, gpa, 4096n, false);
  // The VMM keeps the range private: the next entry answers REJECT.
  await runToUcall(vcpu, UCALL_DONE);
});

TEST('scenario_26_vmm_touches_delegated_gmem_page', () => {
  const { vm } = cocoVmCreate('cca', undefined, { npages: 0 });
  // guest_memfd mmap is 6.18.
  if (!(BigInt(vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS)) & GUEST_MEMFD_FLAG_MMAP)) SKIP('%s', 'guest_memfd mmap needs KVM_CAP_GUEST_MEMFD_FLAGS (6.18)');
  const gmem = vmCreateGuestMemfd(vm, 4096, GUEST_MEMFD_FLAG_MMAP);
  const m = mmap(0n, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0);
  ASSERT_EQ(m.errno, 0);
  expectHostFault(() => hostRead(m.addr, 8), 'SIGBUS');
});

TEST('scenario_31_punch_hole_in_mapped_private_memory', () => punchHoleInMappedPrivateMemory({ name: 'cca' }));

TEST('scenario_32_gmem_flags_above_reported', () => {
  gmemFlagsAboveReported('cca');
});

TEST('scenario_36_poisoned_gmem_page', () => poisonedGmemPage({ name: 'cca' }));

void TEST_HARNESS_MAIN();
