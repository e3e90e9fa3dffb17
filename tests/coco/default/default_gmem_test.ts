/**
 * The default VM type with guest_memfd (6.18; reference/platforms.md §2.8;
 * scenarios 30 and 32): no private memory, a fully shared, mmap-able
 * guest_memfd.
 */
import { EINVAL, ENODEV } from '../../../lib/kvm/errno.js';
import {
  GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_CAP_MEMORY_ATTRIBUTES, KVM_MEMORY_ATTRIBUTE_PRIVATE, MAP_PRIVATE,
  MAP_SHARED, PROT_READ, PROT_WRITE, UCALL_DONE,
} from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import { __vmSetMemoryAttributes, hostFill, hostRead, mmap, vmCheckCap, vmCreateGuestMemfd } from '../../../lib/kvm_util/index.js';
import { cocoVmCreate, expectHostFault, runToUcall } from '../../../lib/kvm_util/coco.js';
import { gmemFlagsAboveReported } from '../scenarios.js';

const SHARED_GMEM = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

TEST('scenario_30_host_writes_through_gmem_mmap_reach_the_guest', async () => {
  const { vcpu, region } = cocoVmCreate('default', (g, base) => {
    g.memcmp(base, 4096, 0x30);
    g.done();
  }, { gmemFlags: SHARED_GMEM, npages: 1 });
  const m = mmap(0n, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, region!.guestMemfd, 0);
  ASSERT_EQ(m.errno, 0);
  hostFill(m.addr, 4096, 0x30);
  await runToUcall(vcpu, UCALL_DONE);
});

TEST('scenario_30_mmap_rules', () => {
  const { vm, gpa } = cocoVmCreate('default', undefined, { npages: 1, gmemFlags: SHARED_GMEM });
  const gmem = vmCreateGuestMemfd(vm, 4096, SHARED_GMEM);
  ASSERT_EQ(mmap(0n, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, gmem, 0).errno, EINVAL);
  const plain = vmCreateGuestMemfd(vm, 4096, 0n);
  ASSERT_EQ(mmap(0n, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, plain, 0).errno, ENODEV);
  // A mapping past i_size faults with SIGBUS.
  const m = mmap(0n, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0);
  ASSERT_EQ(m.errno, 0);
  expectHostFault(() => hostRead(m.addr + 4096n, 1), 'SIGBUS');
  // No private memory: no attributes at all.
  ASSERT_EQ(vmCheckCap(vm, KVM_CAP_MEMORY_ATTRIBUTES), 0);
  const r = __vmSetMemoryAttributes(vm, gpa, 4096, KVM_MEMORY_ATTRIBUTE_PRIVATE);
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EINVAL);
});

TEST('scenario_32_gmem_flags_above_reported', () => {
  ASSERT_EQ(gmemFlagsAboveReported('default'), SHARED_GMEM);
});

void TEST_HARNESS_MAIN();
