/**
 * KVM_X86_SW_PROTECTED_VM (reference/platforms.md §2.7; scenarios 27, 28,
 * 29, 31, 32, 33, 36): the attribute is the truth, conversions by
 * KVM_HC_MAP_GPA_RANGE, private pages unreachable for the host.
 */
import { EAGAIN, EFAULT, EINVAL } from '../../../lib/kvm/errno.js';
import { encodeMemoryAttributes2 } from '../../../lib/kvm/structs.js';
import {
  GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_CAP_GUEST_MEMFD_FLAGS, KVM_MEMORY_ATTRIBUTE_PRIVATE,
  KVM_MEMORY_EXIT_FLAG_PRIVATE, KVM_SET_MEMORY_ATTRIBUTES2,
  MAP_SHARED, PROT_READ, PROT_WRITE, UCALL_DONE, UCALL_SYNC,
} from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, SKIP, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import {
  __vmCreateGuestMemfd, _vcpuRun, expectHostSees, hostRead, mmap, pinPages, unpinPages, vmCheckCap, vmCreateGuestMemfd, vmMemRegionDelete, vmMemSetPrivate,
} from '../../../lib/kvm_util/index.js';
import {
  COCO_TEST_SLOT, cocoVmCreate as create, expectHostFault, expectMemoryFault, runToMemoryFault, runToUcall, useModelKernel,
} from '../../../lib/kvm_util/coco.js';
import { gmemFlagsAboveReported, poisonedGmemPage, punchHoleInMappedPrivateMemory } from '../scenarios.js';

const SW = { name: 'sw_protected' };

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
  // Converting back to shared, the VMM gives the private pages up.
  await runToUcall(vcpu, UCALL_SYNC, { serve: plugin, punchOnShare: true });
  expectHostSees(vm, gpa, 4096, 0xaa);
  await runToUcall(vcpu, UCALL_DONE, { serve: plugin, punchOnShare: true });
  expectHostSees(vm, gpa, 4096, 0xaa);
});

TEST('scenario_28_private_attribute_on_slot_without_gmem', async () => {
  const { vm, vcpu, gpa } = create('sw_protected', (g, base) => {
    g.read(base + 4096n, 8);
    g.done();
  }, { gmem: false });
  vmMemSetPrivate(vm, gpa + 4096n, 4096);
  await runToMemoryFault(vcpu, { errno: EFAULT, flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa: gpa + 4096n, size: 4096n });
});

TEST('scenario_28_slot_deleted_while_vcpu_spins', async () => {
  const { vm, vcpu, gpa } = create('sw_protected', (g, base) => {
    g.loop('forever', (body) => body.read(base, 8));
  });
  vmMemSetPrivate(vm, gpa, 4096);
  const running = _vcpuRun(vcpu);
  await new Promise<void>((resolve) => setImmediate(resolve));
  vmMemRegionDelete(vm, COCO_TEST_SLOT);
  expectMemoryFault(vcpu, await running, { errno: EFAULT, flags: KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa, size: 4096n });
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
  expectHostFault(() => hostRead(m.addr, 1), 'SIGBUS');
});

TEST('scenario_31_punch_hole_in_mapped_private_memory', () => punchHoleInMappedPrivateMemory(SW));

TEST('scenario_32_gmem_flags_above_reported', () => {
  gmemFlagsAboveReported(SW.name);
});

/**
 * Scenario 33 as 7.4 queues it: no content modes (flags must be 0), the
 * bytes the host wrote while shared are what the guest reads privately, a
 * host touch of the private page is SIGBUS, and a GUP-pinned page refuses
 * the conversion with EAGAIN and its offset in error_offset.
 */
TEST('scenario_33_inplace_conversion_to_private', async () => {
  const b = useModelKernel('7.4', false);
  const { vcpu, region } = create('sw_protected', (g, base) => {
    g.memcmp(base, 4096, 0x33);
    g.done();
  }, { gmemFlags: GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED });
  const gmem = region!.guestMemfd;
  const m = b.mmap(0n, 8192n, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0n);
  ASSERT_EQ(m.errno, 0);
  b.hostFill(m.addr, 8192, 0x33);
  const set = (offset: number, attrs: bigint, flags = 0n) => {
    const buf = encodeMemoryAttributes2({ offset, size: 4096, attributes: attrs, flags });
    const r = b.ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, buf);
    return { ...r, errorOffset: new DataView(buf.buffer).getBigUint64(32, true) };
  };
  // The content modes of the posted series are gone: any flag is EINVAL.
  ASSERT_EQ(set(0, KVM_MEMORY_ATTRIBUTE_PRIVATE, 2n).errno, EINVAL);
  ASSERT_EQ(set(0, KVM_MEMORY_ATTRIBUTE_PRIVATE).ret, 0);
  // The guest reads what the host wrote; the host's touch of the private page is SIGBUS.
  await runToUcall(vcpu, UCALL_DONE);
  expectHostFault(() => b.hostRead(m.addr, 1), 'SIGBUS');
  // A long-term pin on the shared second page refuses its conversion.
  pinPages(m.addr + 4096n, 4096n);
  const r = set(4096, KVM_MEMORY_ATTRIBUTE_PRIVATE);
  ASSERT_EQ(r.errno, EAGAIN);
  ASSERT_EQ(r.errorOffset, 4096n);
  unpinPages();
  ASSERT_EQ(set(4096, KVM_MEMORY_ATTRIBUTE_PRIVATE).ret, 0);
});

TEST('scenario_36_poisoned_gmem_page', () => poisonedGmemPage(SW));

void TEST_HARNESS_MAIN();
