/**
 * KVM_X86_SW_PROTECTED_VM (reference/platforms.md §2.7; scenarios 27, 28,
 * 29, 31, 32, 33, 36): the attribute is the truth, conversions by
 * KVM_HC_MAP_GPA_RANGE, private pages unreachable for the host.
 */
import { HostFault } from '../../../lib/kvm/backend.js';
import { EFAULT, EHWPOISON, EINVAL, EOPNOTSUPP } from '../../../lib/kvm/errno.js';
import { createModelBackend } from '../../../lib/kvm/model/index.js';
import { encodeMemoryAttributes2 } from '../../../lib/kvm/structs.js';
import {
  GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_CAP_GUEST_MEMFD_FLAGS, KVM_EXIT_HYPERCALL, KVM_EXIT_IO,
  KVM_EXIT_MEMORY_FAULT, KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_MEMORY_EXIT_FLAG_PRIVATE, KVM_SET_MEMORY_ATTRIBUTES2,
  KVM_SET_MEMORY_ATTRIBUTES2_PRESERVE, KVM_SET_MEMORY_ATTRIBUTES2_ZERO, MAP_SHARED, PROT_READ, PROT_WRITE, UCALL_DONE, UCALL_SYNC,
} from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, ASSERT_TRUE, SKIP, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import {
  REPORT_GUEST_ASSERT, __vmCreateGuestMemfd, _vcpuRun, expectHostSees, getUcall, hostRead, mmap, setKvmBackend,
  vmCheckCap, vmCreateGuestMemfd, vmGuestMemPunchHole, vmIoctl, vmMemRegionDelete, vmMemSetPrivate, vmSetMemoryAttributes, type KvmVcpu,
} from '../../../lib/kvm_util/index.js';
import { loadPlatform, registerPlatformModels } from '../../../lib/platform/index.js';
import { KVM_MODEL_INJECT_POISON, encodePoisonArg } from '../../../lib/platform/poison.js';
import { cocoVmCreate } from '../../../lib/platform/testing.js';

/** Run to a ucall; every MAP_GPA_RANGE exit is converted (and the shared side punched when `punch`). */
async function runToUcall(vcpu: KvmVcpu, want: number, punch = false): Promise<void> {
  const plugin = loadPlatform('sw_protected');
  for (;;) {
    const r = await _vcpuRun(vcpu);
    ASSERT_EQ(r.ret, 0);
    const req = plugin.conversion!.decodeExit(vcpu.run);
    if (vcpu.run.exitReason === KVM_EXIT_HYPERCALL && req) {
      vmSetMemoryAttributes(vcpu.vm, req.gpa, req.size, req.toPrivate ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0n);
      // Converting back to shared: the private pages are given up.
      if (punch && !req.toPrivate) vmGuestMemPunchHole(vcpu.vm, req.gpa, req.size);
      plugin.conversion!.complete(vcpu.run, 0n);
      continue;
    }
    ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_IO);
    const uc = getUcall(vcpu);
    if (uc.cmd !== want) REPORT_GUEST_ASSERT(uc, vcpu);
    return;
  }
}

const create = cocoVmCreate;

TEST('scenario_27_convert_shared_private_shared', async () => {
  const { vcpu, gpa, vm, plugin } = create('sw_protected', (g, base) => {
    g.memset(base, 4096, 0xaa);
    g.sync(1);
    plugin.conversion!.convert(g, base, 4096n, true);
    // Content is not preserved across a conversion: a fresh private page.
    g.memcmp(base, 4096, 0);
    g.memset(base, 4096, 0xbb);
    plugin.conversion!.convert(g, base, 4096n, false);
    // Back to shared: the host's old shared data, not the private writes.
    g.memcmp(base, 4096, 0xaa);
    g.done();
  });
  vcpu.args = [gpa];
  await runToUcall(vcpu, UCALL_SYNC, true);
  expectHostSees(vm, gpa, 4096, 0xaa);
  await runToUcall(vcpu, UCALL_DONE, true);
  expectHostSees(vm, gpa, 4096, 0xaa);
});

async function expectPrivateFault(vcpu: KvmVcpu, gpa: bigint): Promise<void> {
  const r = await _vcpuRun(vcpu);
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EFAULT);
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  ASSERT_EQ(vcpu.run.memoryFaultFlags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
  ASSERT_EQ(vcpu.run.memoryFaultGpa, gpa);
  ASSERT_EQ(vcpu.run.memoryFaultSize, 4096n);
}

TEST('scenario_28_private_attribute_on_slot_without_gmem', async () => {
  const { vm, vcpu, gpa } = create('sw_protected', (g, base) => {
    g.read(base + 4096n, 8);
    g.done();
  }, { gmem: false });
  vcpu.args = [gpa];
  vmMemSetPrivate(vm, gpa + 4096n, 4096);
  await expectPrivateFault(vcpu, gpa + 4096n);
});

TEST('scenario_28_slot_deleted_while_vcpu_spins', async () => {
  const { vm, vcpu, gpa } = create('sw_protected', (g, base) => {
    g.loop('forever', (body) => body.read(base, 8));
  });
  vcpu.args = [gpa];
  vmMemSetPrivate(vm, gpa, 4096);
  const running = _vcpuRun(vcpu);
  await new Promise<void>((resolve) => setImmediate(resolve));
  vmMemRegionDelete(vm, 10);
  const r = await running;
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  ASSERT_EQ(vcpu.run.memoryFaultFlags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
  ASSERT_EQ(vcpu.run.memoryFaultGpa, gpa);
  ASSERT_EQ(vcpu.run.memoryFaultSize, 4096n);
});

TEST('scenario_29_init_shared_refused_mmap_faults', () => {
  const { vm } = create('sw_protected', undefined, { npages: 0 });
  // guest_memfd mmap is 6.18.
  if (!(BigInt(vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS)) & GUEST_MEMFD_FLAG_MMAP)) SKIP('%s', 'guest_memfd mmap needs KVM_CAP_GUEST_MEMFD_FLAGS (6.18)');
  const r = __vmCreateGuestMemfd(vm, 4096, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EINVAL);
  const gmem = vmCreateGuestMemfd(vm, 4096, GUEST_MEMFD_FLAG_MMAP);
  const m = mmap(0n, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0);
  ASSERT_EQ(m.errno, 0);
  let fault: unknown;
  try {
    hostRead(m.addr, 1);
  } catch (e) {
    fault = e;
  }
  ASSERT_TRUE(fault instanceof HostFault && fault.signal === 'SIGBUS');
});

TEST('scenario_31_punch_hole_in_mapped_private_memory', async () => {
  const { vm, vcpu, gpa } = create('sw_protected', (g, base) => {
    g.memset(base, 4096, 0x31);
    g.sync(1);
    g.memcmp(base, 4096, 0);
    g.done();
  });
  vcpu.args = [gpa];
  vmMemSetPrivate(vm, gpa, 4096);
  await runToUcall(vcpu, UCALL_SYNC);
  vmGuestMemPunchHole(vm, gpa, 4096);
  await runToUcall(vcpu, UCALL_DONE);
});

TEST('scenario_32_gmem_flags_above_reported', () => {
  const { vm } = create('sw_protected', undefined, { npages: 0 });
  const supported = BigInt(vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS));
  for (let bit = 0n; bit < 64n; bit++) {
    if (supported & (1n << bit)) continue;
    const r = __vmCreateGuestMemfd(vm, 4096, 1n << bit);
    ASSERT_EQ(r.ret, -1);
    ASSERT_EQ(r.errno, EINVAL);
  }
});

TEST('scenario_33_inplace_preserve_to_private', async () => {
  const b = createModelBackend({ kernel: 'inplace' });
  registerPlatformModels({ register: (t, p) => b.registerPlatform(t, p) });
  setKvmBackend(b);
  const { vcpu, gpa, region } = create('sw_protected', (g, base) => {
    g.memcmp(base, 4096, 0x33);
    g.done();
  }, { gmemFlags: GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED });
  vcpu.args = [gpa];
  const gmem = region!.guestMemfd;
  const m = b.mmap(0n, 8192n, 3, 0x01, gmem, 0n);
  ASSERT_EQ(m.errno, 0);
  b.hostFill(m.addr, 4096, 0x33);
  const set = (attrs: bigint, flags: bigint) =>
    b.ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, encodeMemoryAttributes2({ offset: 0, size: 4096, attributes: attrs, flags }));
  // ZERO towards private is not a thing.
  ASSERT_EQ(set(KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_SET_MEMORY_ATTRIBUTES2_ZERO).errno, EOPNOTSUPP);
  ASSERT_EQ(set(KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_SET_MEMORY_ATTRIBUTES2_PRESERVE).ret, 0);
  // The guest reads what the host wrote; the host's touch of the private page is SIGBUS.
  await runToUcall(vcpu, UCALL_DONE);
  let fault: unknown;
  try {
    b.hostRead(m.addr, 1);
  } catch (e) {
    fault = e;
  }
  ASSERT_TRUE(fault instanceof HostFault && fault.signal === 'SIGBUS');
});

TEST('scenario_36_poisoned_gmem_page', async () => {
  const { vm, vcpu, gpa } = create('sw_protected', (g, base) => {
    g.memset(base, 8192, 0x36);
    g.sync(1);
    g.read(base + 4096n, 8);
    g.done();
  });
  vcpu.args = [gpa];
  vmMemSetPrivate(vm, gpa, 8192);
  await runToUcall(vcpu, UCALL_SYNC);
  vmIoctl(vm, KVM_MODEL_INJECT_POISON, encodePoisonArg(gpa + 4096n));
  const r = await _vcpuRun(vcpu);
  ASSERT_EQ(r.errno, EHWPOISON);
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  ASSERT_EQ(vcpu.run.memoryFaultGpa, gpa + 4096n);
  ASSERT_EQ(vm.regions.has(10), true);
});

void TEST_HARNESS_MAIN();
