/**
 * SNP private memory as the host sees it, granularity, and guest_memfd
 * rules on an SNP VM (scenarios 19, 31, 32, 34, 35, 36).
 */
import { EFAULT, EHWPOISON, EINVAL, EOPNOTSUPP } from '../../../lib/kvm/errno.js';
import { createModelBackend } from '../../../lib/kvm/model/index.js';
import { encodeMemoryAttributes2 } from '../../../lib/kvm/structs.js';
import {
  GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_CAP_GUEST_MEMFD_FLAGS, KVM_EXIT_HYPERCALL, KVM_EXIT_IO,
  KVM_EXIT_MEMORY_FAULT, KVM_MAP_GPA_RANGE_ENCRYPTED, KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_SET_MEMORY_ATTRIBUTES2,
  KVM_SET_MEMORY_ATTRIBUTES2_PRESERVE, KVM_SET_MEMORY_ATTRIBUTES2_ZERO, UCALL_DONE, UCALL_SYNC,
} from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import {
  REPORT_GUEST_ASSERT, __vmCreateGuestMemfd, _vcpuRun, getUcall, setKvmBackend, vmCheckCap, vmGuestMemPunchHole, vmIoctl,
  vmMemSetPrivate, vmSetMemoryAttributes, type KvmVcpu,
} from '../../../lib/kvm_util/index.js';
import { registerPlatformModels } from '../../../lib/platform/index.js';
import { KVM_MODEL_INJECT_POISON, encodePoisonArg } from '../../../lib/platform/poison.js';
import { cocoVmCreate, sourcePage } from '../../../lib/platform/testing.js';
import { snpPsc, snpPscMsr, snpPvalidate } from '../../../platforms/snp/guest.js';
import { __snpModelHostWrite, snpLaunchFinish, snpLaunchStart, snpLaunchUpdate } from '../../../platforms/snp/host.js';
import { KVM_SEV_SNP_PAGE_TYPE_NORMAL, PVALIDATE_FAIL_SIZEMISMATCH } from '../../../platforms/snp/uapi.js';

/** Run until a ucall, converting on every MAP_GPA_RANGE exit; returns the ucall command. */
async function runToUcall(vcpu: KvmVcpu): Promise<number> {
  for (;;) {
    const r = await _vcpuRun(vcpu);
    ASSERT_EQ(r.ret, 0);
    if (vcpu.run.exitReason === KVM_EXIT_HYPERCALL) {
      const a2 = vcpu.run.hypercallArg(2);
      vmSetMemoryAttributes(vcpu.vm, vcpu.run.hypercallArg(0), vcpu.run.hypercallArg(1) * 4096n, a2 & KVM_MAP_GPA_RANGE_ENCRYPTED ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0n);
      vcpu.run.hypercallRet = 0n;
      continue;
    }
    ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_IO);
    const uc = getUcall(vcpu);
    if (uc.cmd !== UCALL_SYNC && uc.cmd !== UCALL_DONE) REPORT_GUEST_ASSERT(uc, vcpu);
    return uc.cmd;
  }
}

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

TEST('scenario_31_punch_hole_in_mapped_private_memory', async () => {
  const { vm, vcpu, gpa } = cocoVmCreate('snp', (g, base) => {
    snpPscMsr(g, base, true);
    snpPvalidate(g, base);
    g.memset(base, 4096, 0x22, { view: 'private' });
    g.sync(1);
    // A fresh, zeroed page that is assigned but not validated: validate again.
    snpPvalidate(g, base);
    g.memcmp(base, 4096, 0, { view: 'private' });
    g.done();
  });
  vcpu.args = [gpa];
  ASSERT_EQ(await runToUcall(vcpu), UCALL_SYNC);
  vmGuestMemPunchHole(vm, gpa, 4096);
  ASSERT_EQ(await runToUcall(vcpu), UCALL_DONE);
});

TEST('scenario_32_gmem_flags_above_reported', () => {
  const { vm } = cocoVmCreate('snp', undefined, { npages: 0 });
  const supported = BigInt(vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS));
  // INIT_SHARED is refused for VMs with private memory.
  ASSERT_EQ(supported & GUEST_MEMFD_FLAG_INIT_SHARED, 0n);
  for (let bit = 0n; bit < 64n; bit++) {
    if (supported & (1n << bit)) continue;
    const r = __vmCreateGuestMemfd(vm, 4096, 1n << bit);
    ASSERT_EQ(r.ret, -1);
    ASSERT_EQ(r.errno, EINVAL);
  }
});

TEST('scenario_34_inplace_preserve_before_launch_only', async () => {
  const b = createModelBackend({ kernel: 'inplace' });
  registerPlatformModels({ register: (t, p) => b.registerPlatform(t, p) });
  setKvmBackend(b);
  const { vm, vcpu, gpa, region } = cocoVmCreate('snp', (g, base) => {
    g.memcmp(base, 4096, 0x34, { view: 'private' });
    g.done();
  }, { gmemFlags: GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED });
  vcpu.args = [gpa];
  snpLaunchStart(vm);
  const gmem = region!.guestMemfd;
  const m = b.mmap(0n, 4096n, 3, 0x01, gmem, 0n);
  ASSERT_EQ(m.errno, 0);
  b.hostFill(m.addr, 4096, 0x34);
  b.munmap(m.addr, 4096n);
  const pre = b.ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, encodeMemoryAttributes2({ offset: 0, size: 4096, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: KVM_SET_MEMORY_ATTRIBUTES2_PRESERVE }));
  ASSERT_EQ(pre.ret, 0);
  // Populate with uaddr = NULL: the page as written while shared.
  snpLaunchUpdate(vm, { gfnStart: gpa >> 12n, uaddr: 0n, len: 4096n, type: KVM_SEV_SNP_PAGE_TYPE_NORMAL, flags: 0 });
  snpLaunchFinish(vm);
  ASSERT_EQ(await runToUcall(vcpu), UCALL_DONE);
  const post = b.ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, encodeMemoryAttributes2({ offset: 4096, size: 4096, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: KVM_SET_MEMORY_ATTRIBUTES2_PRESERVE }));
  ASSERT_EQ(post.errno, EOPNOTSUPP);
  const zero = b.ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, encodeMemoryAttributes2({ offset: 0, size: 4096, attributes: 0, flags: KVM_SET_MEMORY_ATTRIBUTES2_ZERO }));
  ASSERT_EQ(zero.ret, 0);
});

async function pvalidate2M(largeFolios: boolean, mixed: boolean, expect: bigint): Promise<void> {
  const { vm, vcpu, gpa } = cocoVmCreate('snp', (g, base) => {
    snpPvalidate(g, base, { size: '2M', expect });
    g.done();
  }, { npages: 512, hardware: { largeFolios } });
  vcpu.args = [gpa];
  vmMemSetPrivate(vm, gpa, 2n << 20n);
  if (mixed) vmSetMemoryAttributes(vm, gpa + 8192n, 4096, 0n);
  ASSERT_EQ(await runToUcall(vcpu), UCALL_DONE);
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

TEST('scenario_36_poisoned_gmem_page', async () => {
  const { vm, vcpu, gpa } = cocoVmCreate('snp', (g, base) => {
    snpPsc(g, [{ gfn: base >> 12n, toPrivate: true, huge: false }, { gfn: (base >> 12n) + 1n, toPrivate: true, huge: false }]);
    snpPvalidate(g, base, { npages: 2 });
    g.sync(1);
    g.read(base, 8, { view: 'private' });
    g.done();
  });
  vcpu.args = [gpa];
  ASSERT_EQ(await runToUcall(vcpu), UCALL_SYNC);
  vmIoctl(vm, KVM_MODEL_INJECT_POISON, encodePoisonArg(gpa));
  const r = await _vcpuRun(vcpu);
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EHWPOISON);
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  ASSERT_EQ(vm.regions.has(10), true);
});

void TEST_HARNESS_MAIN();
