/**
 * CCA realms (reference/platforms.md §2.6; scenarios 8, 9, 24, 25, 26, 31,
 * 32, 36): populate before activation, RSI_IPA_STATE_SET as a memory-fault
 * exit, SEA on a protected access to RIPAS EMPTY, SIGBUS for the VMM.
 */
import { HostFault } from '../../../lib/kvm/backend.js';
import { EFAULT, EHWPOISON, EINVAL, EOPNOTSUPP, EPERM } from '../../../lib/kvm/errno.js';
import {
  GUEST_MEMFD_FLAG_MMAP, KVM_CAP_GUEST_MEMFD_FLAGS, KVM_EXIT_IO, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_SYSTEM_EVENT,
  KVM_MEMORY_EXIT_FLAG_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, UCALL_DONE, UCALL_SYNC,
} from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, ASSERT_TRUE, SKIP, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import {
  REPORT_GUEST_ASSERT, __vmCreateGuestMemfd, _vcpuRun, getUcall, hostFill, hostRead, mmap, vmCheckCap, vmCreateGuestMemfd,
  vmGuestMemPunchHole, vmIoctl, vmMemSetPrivate, vmMemSetShared, type KvmVcpu,
} from '../../../lib/kvm_util/index.js';
import { KVM_MODEL_INJECT_POISON, encodePoisonArg } from '../../../lib/platform/poison.js';
import { cocoVmCreate, sourcePage } from '../../../lib/platform/testing.js';
import { ccaRsiIpaStateSet } from '../../../platforms/cca/guest.js';
import { __rmiPopulate, ccaModelRim, expectedRim, rmiPopulate } from '../../../platforms/cca/host.js';
import { toHex } from '../../../lib/platform/digest.js';
import { KVM_SYSTEM_EVENT_CRASH, RSI_REJECT } from '../../../platforms/cca/uapi.js';

async function runToUcall(vcpu: KvmVcpu, want: number): Promise<void> {
  const r = await _vcpuRun(vcpu);
  ASSERT_EQ(r.ret, 0);
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_IO);
  const uc = getUcall(vcpu);
  if (uc.cmd !== want) REPORT_GUEST_ASSERT(uc, vcpu);
}

async function expectRipasExit(vcpu: KvmVcpu, gpa: bigint, size: bigint, toRam: boolean): Promise<void> {
  const r = await _vcpuRun(vcpu);
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EFAULT);
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  ASSERT_EQ(vcpu.run.memoryFaultFlags, toRam ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0n);
  ASSERT_EQ(vcpu.run.memoryFaultGpa, gpa);
  ASSERT_EQ(vcpu.run.memoryFaultSize, size);
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
  vcpu.args = [gpa];
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
  vcpu.args = [gpa];
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
  vcpu.args = [gpa];
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
  vcpu.args = [gpa];
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
  let fault: unknown;
  try {
    hostRead(m.addr, 8);
  } catch (e) {
    fault = e;
  }
  ASSERT_TRUE(fault instanceof HostFault);
  ASSERT_EQ((fault as HostFault).signal, 'SIGBUS');
});

TEST('scenario_31_punch_hole_in_mapped_private_memory', async () => {
  const { vm, vcpu, gpa } = cocoVmCreate('cca', (g, base) => {
    g.memset(base, 4096, 0x31, { view: 'private' });
    g.sync(1);
    g.memcmp(base, 4096, 0, { view: 'private' });
    g.done();
  });
  vcpu.args = [gpa];
  vmMemSetPrivate(vm, gpa, 4096);
  await runToUcall(vcpu, UCALL_SYNC);
  vmGuestMemPunchHole(vm, gpa, 4096);
  await runToUcall(vcpu, UCALL_DONE);
});

TEST('scenario_32_gmem_flags_above_reported', () => {
  const { vm } = cocoVmCreate('cca', undefined, { npages: 0 });
  const supported = BigInt(vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS));
  for (let bit = 0n; bit < 64n; bit++) {
    if (supported & (1n << bit)) continue;
    const r = __vmCreateGuestMemfd(vm, 4096, 1n << bit);
    ASSERT_EQ(r.ret, -1);
    ASSERT_EQ(r.errno, EINVAL);
  }
});

TEST('scenario_36_poisoned_gmem_page', async () => {
  const { vm, vcpu, gpa } = cocoVmCreate('cca', (g, base) => {
    g.memset(base, 8192, 0x36, { view: 'private' });
    g.sync(1);
    g.read(base, 8, { view: 'private' });
    g.done();
  });
  vcpu.args = [gpa];
  vmMemSetPrivate(vm, gpa, 8192);
  await runToUcall(vcpu, UCALL_SYNC);
  vmIoctl(vm, KVM_MODEL_INJECT_POISON, encodePoisonArg(gpa));
  const r = await _vcpuRun(vcpu);
  ASSERT_EQ(r.errno, EHWPOISON);
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  ASSERT_EQ(vm.regions.has(10), true);
});

void TEST_HARNESS_MAIN();
