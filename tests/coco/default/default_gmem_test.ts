/**
 * The default VM type with guest_memfd (6.18; reference/platforms.md §2.8;
 * scenarios 30 and 32): no private memory, a fully shared, mmap-able
 * guest_memfd.
 */
import { HostFault } from '../../../lib/kvm/backend.js';
import { EINVAL, ENODEV } from '../../../lib/kvm/errno.js';
import {
  GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_CAP_GUEST_MEMFD_FLAGS, KVM_CAP_MEMORY_ATTRIBUTES, KVM_EXIT_IO,
  KVM_MEMORY_ATTRIBUTE_PRIVATE, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, UCALL_DONE,
} from '../../../lib/kvm/uapi.js';
import { ASSERT_EQ, ASSERT_TRUE, TEST, TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import {
  REPORT_GUEST_ASSERT, __vmCreateGuestMemfd, __vmSetMemoryAttributes, _vcpuRun, getUcall, hostFill, hostRead, mmap, vmCheckCap,
  vmCreateGuestMemfd,
} from '../../../lib/kvm_util/index.js';
import { cocoVmCreate } from '../../../lib/platform/testing.js';

const SHARED_GMEM = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

TEST('scenario_30_host_writes_through_gmem_mmap_reach_the_guest', async () => {
  const { vcpu, gpa, region } = cocoVmCreate('default', (g, base) => {
    g.memcmp(base, 4096, 0x30);
    g.done();
  }, { gmemFlags: SHARED_GMEM, npages: 1 });
  vcpu.args = [gpa];
  const m = mmap(0n, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, region!.guestMemfd, 0);
  ASSERT_EQ(m.errno, 0);
  hostFill(m.addr, 4096, 0x30);
  const r = await _vcpuRun(vcpu);
  ASSERT_EQ(r.ret, 0);
  ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_IO);
  const uc = getUcall(vcpu);
  if (uc.cmd !== UCALL_DONE) REPORT_GUEST_ASSERT(uc, vcpu);
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
  let fault: unknown;
  try {
    hostRead(m.addr + 4096n, 1);
  } catch (e) {
    fault = e;
  }
  ASSERT_TRUE(fault instanceof HostFault && fault.signal === 'SIGBUS');
  // No private memory: no attributes at all.
  ASSERT_EQ(vmCheckCap(vm, KVM_CAP_MEMORY_ATTRIBUTES), 0);
  const r = __vmSetMemoryAttributes(vm, gpa, 4096, KVM_MEMORY_ATTRIBUTE_PRIVATE);
  ASSERT_EQ(r.ret, -1);
  ASSERT_EQ(r.errno, EINVAL);
});

TEST('scenario_32_gmem_flags_above_reported', () => {
  const { vm } = cocoVmCreate('default', undefined, { npages: 0 });
  const supported = BigInt(vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS));
  ASSERT_EQ(supported, SHARED_GMEM);
  for (let bit = 0n; bit < 64n; bit++) {
    if (supported & (1n << bit)) continue;
    const r = __vmCreateGuestMemfd(vm, 4096, 1n << bit);
    ASSERT_EQ(r.ret, -1);
    ASSERT_EQ(r.errno, EINVAL);
  }
});

void TEST_HARNESS_MAIN();
