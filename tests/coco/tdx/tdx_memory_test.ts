/**
 * TDX private memory as the host sees it, and guest_memfd rules on a TD
 * (scenarios 20, 31, 32, 34, 35, 36).
 */
import { EHWPOISON, EINVAL, EOPNOTSUPP } from '../../../lib/kvm/errno.js';
import { createModelBackend } from '../../../lib/kvm/model/index.js';
import { encodeMemoryAttributes2 } from '../../../lib/kvm/structs.js';
import {
  GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_CAP_GUEST_MEMFD_FLAGS, KVM_EXIT_IO, KVM_EXIT_MEMORY_FAULT, KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_MEMORY_EXIT_FLAG_PRIVATE,
  KVM_SET_MEMORY_ATTRIBUTES2, KVM_SET_MEMORY_ATTRIBUTES2_PRESERVE, KVM_SET_MEMORY_ATTRIBUTES2_ZERO, UCALL_DONE, UCALL_SYNC,
} from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import {
  REPORT_GUEST_ASSERT, __vmCreateGuestMemfd, _vcpuRun, getUcall, setKvmBackend, vmCheckCap, vmGuestMemPunchHole, vmIoctl,
  vmMemSetPrivate, type KvmVcpu,
} from '../../../lib/kvm_util/index.js';
import { registerPlatformModels } from '../../../lib/platform/index.js';
import { KVM_MODEL_INJECT_POISON, encodePoisonArg } from '../../../lib/platform/poison.js';
import { cocoVmCreate } from '../../../lib/platform/testing.js';
import { tdxAccept } from '../../../platforms/tdx/guest.js';
import { __tdxInitMemRegion, __tdxModelHostWrite, tdxFinalizeVm, tdxInitAndFinalize, tdxInitVcpu, tdxInitVm } from '../../../platforms/tdx/host.js';
import { TDX_PAGE_SIZE_MISMATCH } from '../../../platforms/tdx/uapi.js';

async function runTo(vcpu: KvmVcpu, cmd: number): Promise<void> {
  const r = await _vcpuRun(vcpu);
  ASSERT_EQ(r.ret, 0);
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_IO);
  const uc = getUcall(vcpu);
  if (uc.cmd !== cmd) REPORT_GUEST_ASSERT(uc, vcpu);
}

TEST('scenario_20_host_partial_write_poisons_private_line', async () => {
  // Destructive on real hardware: the model-only host write stands in for a MOVNTI.
  const { vm, vcpu, gpa } = cocoVmCreate('tdx', (g, base) => {
    tdxAccept(g, base, 4096);
    g.memset(base, 4096, 0x11, { view: 'private' });
    g.sync(1);
    g.read(base, 64, { view: 'private' });
    g.done();
  });
  vcpu.args = [1n << 32n];
  tdxInitAndFinalize(vm);
  vmMemSetPrivate(vm, gpa, 4096);
  await runTo(vcpu, UCALL_SYNC);
  ASSERT_EQ(__tdxModelHostWrite(vm, gpa).ret, 0);
  // The TD's next read consumes the poison: #MC, reported as EHWPOISON.
  const r = await _vcpuRun(vcpu);
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EHWPOISON);
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  ASSERT_EQ(vcpu.run.memoryFaultFlags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
});

TEST('scenario_31_punch_hole_in_mapped_private_memory', async () => {
  const { vm, vcpu, gpa } = cocoVmCreate('tdx', (g, base) => {
    tdxAccept(g, base, 4096);
    g.memset(base, 4096, 0x22, { view: 'private' });
    g.sync(1);
    // The S-EPT entry is gone: AUG plus a fresh ACCEPT (not "already accepted"), then zeros.
    tdxAccept(g, base, 4096);
    g.memcmp(base, 4096, 0, { view: 'private' });
    g.done();
  });
  vcpu.args = [1n << 32n];
  tdxInitAndFinalize(vm);
  vmMemSetPrivate(vm, gpa, 4096);
  await runTo(vcpu, UCALL_SYNC);
  vmGuestMemPunchHole(vm, gpa, 4096);
  await runTo(vcpu, UCALL_DONE);
});

TEST('scenario_32_gmem_flags_above_reported', () => {
  const { vm } = cocoVmCreate('tdx', undefined, { npages: 0 });
  const supported = BigInt(vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS));
  for (let bit = 0n; bit < 64n; bit++) {
    const flag = 1n << bit;
    if (supported & flag) continue;
    const r = __vmCreateGuestMemfd(vm, 4096, flag);
    ASSERT_EQ(r.ret, -1);
    ASSERT_EQ(r.errno, EINVAL);
  }
});

TEST('scenario_34_inplace_preserve_before_launch_only', async () => {
  setKvmBackend(undefined);
  const b = createModelBackend({ kernel: 'inplace' });
  registerPlatformModels({ register: (t, p) => b.registerPlatform(t, p) });
  setKvmBackend(b);
  const { vm, vcpu, gpa, region } = cocoVmCreate('tdx', (g, base) => {
    g.memcmp(base, 4096, 0x77, { view: 'private' });
    g.done();
  }, { gmemFlags: GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED });
  vcpu.args = [gpa];
  tdxInitVm(vm);
  tdxInitVcpu(vcpu);
  const gmem = region!.guestMemfd;
  // Written while shared (through the gmem mapping), then PRESERVE'd to private.
  const m = b.mmap(0n, 4096n, 3, 0x01, gmem, 0n);
  ASSERT_EQ(m.errno, 0);
  b.hostFill(m.addr, 4096, 0x77);
  b.munmap(m.addr, 4096n);
  const pre = b.ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, encodeMemoryAttributes2({ offset: 0, size: 4096, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: KVM_SET_MEMORY_ATTRIBUTES2_PRESERVE }));
  ASSERT_EQ(pre.ret, 0);
  // Populate with a NULL source: PAGE.ADD of the page as it is.
  ASSERT_EQ(__tdxInitMemRegion(vcpu, { sourceAddr: 0n, gpa, nrPages: 1n, measure: true }).ret, 0);
  tdxFinalizeVm(vm);
  await runTo(vcpu, UCALL_DONE);
  // After launch PRESERVE is refused; →shared with ZERO is fine.
  const post = b.ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, encodeMemoryAttributes2({ offset: 4096, size: 4096, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: KVM_SET_MEMORY_ATTRIBUTES2_PRESERVE }));
  ASSERT_EQ(post.ret, -1);
  ASSERT_EQ(post.errno, EOPNOTSUPP);
  const zero = b.ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, encodeMemoryAttributes2({ offset: 0, size: 4096, attributes: 0, flags: KVM_SET_MEMORY_ATTRIBUTES2_ZERO }));
  ASSERT_EQ(zero.ret, 0);
});

TEST('scenario_35_no_2m_private_mappings', async () => {
  // KVM maps TD private memory at 4K only: a 2M ACCEPT meets a 4K leaf.
  const { vm, vcpu, gpa } = cocoVmCreate('tdx', (g, base) => {
    tdxAccept(g, base, 2n << 20n, { level: '2M', expect: TDX_PAGE_SIZE_MISMATCH });
    tdxAccept(g, base, 2n << 20n, { level: '4K' });
    g.memset(base, 2 << 20, 0x5c, { view: 'private' });
    g.done();
  }, { npages: 512 });
  vcpu.args = [gpa];
  tdxInitAndFinalize(vm);
  vmMemSetPrivate(vm, gpa, 2n << 20n);
  await runTo(vcpu, UCALL_DONE);
});

TEST('scenario_36_poisoned_gmem_page', async () => {
  const { vm, vcpu, gpa } = cocoVmCreate('tdx', (g, base) => {
    tdxAccept(g, base, 8192);
    g.memset(base + 4096n, 4096, 0x31, { view: 'private' });
    g.sync(1);
    // The healthy neighbour still works; the poisoned page faults.
    g.memcmp(base + 4096n, 4096, 0x31, { view: 'private' });
    g.read(base, 8, { view: 'private' });
    g.done();
  });
  vcpu.args = [gpa];
  tdxInitAndFinalize(vm);
  vmMemSetPrivate(vm, gpa, 8192);
  await runTo(vcpu, UCALL_SYNC);
  vmIoctl(vm, KVM_MODEL_INJECT_POISON, encodePoisonArg(gpa));
  const r = await _vcpuRun(vcpu);
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EHWPOISON);
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  ASSERT_EQ(vcpu.run.memoryFaultGpa, gpa);
  // The slot is not truncated: it is still there.
  ASSERT_EQ(vm.regions.has(10), true);
});

void TEST_HARNESS_MAIN();
