/**
 * private_mem_kvm_exits_test: a private access that KVM cannot serve exits
 * to userspace as KVM_EXIT_MEMORY_FAULT (KVM_RUN = -1/EFAULT) with
 * flags = PRIVATE, the page-aligned GPA and size 4096:
 *  - the gmem slot is deleted while the vCPU runs (the KVM_RUN promise is
 *    started, the slot deleted from the main flow, then the promise awaited,
 *    as the C program deletes from main while a thread runs the vCPU);
 *  - the slot has no guest_memfd but the attribute says private.
 *
 * 7.4 with PRIVATE tracked per guest_memfd (kvm_has_gmem_attributes; "KVM:
 * selftests: Update private memory exits test to work with per-gmem
 * attributes"): the guest_memfd starts private, so nothing is set; deleting
 * the slot takes the private state with it, so on a VM whose accesses follow
 * the attribute (SW_PROTECTED) the read becomes emulated MMIO; and a slot
 * without guest_memfd can never be private, so the second case does not exist.
 */
import { EFAULT } from '../../lib/kvm/errno.js';
import {
  KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO, KVM_MEM_GUEST_MEMFD, KVM_MEMORY_EXIT_FLAG_PRIVATE, PAGE_SIZE,
} from '../../lib/kvm/uapi.js';
import type { GuestBuilder } from '../../lib/guest/builder.js';
import { loadPlatformOrExit } from '../../lib/platform/index.js';
import {
  KVM_IOCTL_ERROR, ksftEnv, kvmHasGmemAttributes, requirePlatformVmType, TEST_ASSERT, TEST_ASSERT_EQ, _vcpuRun, kvmCheckCap,
  kvmSelftestMain, kvmVmFree, vmCreateShapeWithOneVcpu, vmMemRegionDelete, vmMemSetPrivate, vmShape,
  vmUserspaceMemRegionAdd, VM_MEM_SRC_ANONYMOUS, type KvmVcpu, type VmShape,
} from '../../lib/kvm_util/index.js';

/* Arbitrary, clear of everything else; identity-mapped (GVA == GPA). */
const EXITS_TEST_GVA = 0xc0000000n;
const EXITS_TEST_GPA = EXITS_TEST_GVA;
const EXITS_TEST_NPAGES = 1;
const EXITS_TEST_SIZE = EXITS_TEST_NPAGES * PAGE_SIZE;
const EXITS_TEST_SLOT = 10;

/** KSFT_PLATFORM's plugin (platforms/<name>). */
const platform = loadPlatformOrExit(ksftEnv().KSFT_PLATFORM);

/** for (;;) value = *(u64 *)EXITS_TEST_GVA; */
const guestRepeatedlyRead = (g: GuestBuilder): void => {
  // What the platform's guest owes before touching a private page (TDX ACCEPT, SNP PVALIDATE).
  platform.conversion?.reacquire(g, EXITS_TEST_GPA, BigInt(EXITS_TEST_SIZE));
  g.loop('forever', (body) => body.read(EXITS_TEST_GVA, 8));
};

/** _vcpu_run(); a failure must be EFAULT with a memory-fault exit. */
async function runVcpuGetExitReason(vcpu: KvmVcpu): Promise<number> {
  const r = await _vcpuRun(vcpu);
  if (r.ret) {
    TEST_ASSERT(r.errno === EFAULT, KVM_IOCTL_ERROR('KVM_RUN', r.ret, r.errno));
    TEST_ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  }
  return vcpu.run.exitReason;
}

async function testPrivateAccessMemslotDeleted(shape: VmShape): Promise<void> {
  const { vm, vcpu } = vmCreateShapeWithOneVcpu(shape, guestRepeatedlyRead);
  TEST_ASSERT(platform.launchMinimal(vm.backend, vm.fd, [vcpu.fd]).ret === 0, 'launch failed');

  vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, EXITS_TEST_GPA, EXITS_TEST_SLOT, EXITS_TEST_NPAGES, KVM_MEM_GUEST_MEMFD);

  // Ask for private access to the page (a guest_memfd with per-gmem attributes already is private).
  if (!kvmHasGmemAttributes()) vmMemSetPrivate(vm, EXITS_TEST_GPA, EXITS_TEST_SIZE);

  const vmThread = runVcpuGetExitReason(vcpu);

  // Let the guest enter its read loop (KVM_RUN yields while it runs), then pull the slot from under it.
  await new Promise<void>((resolve) => setImmediate(resolve));
  vmMemRegionDelete(vm, EXITS_TEST_SLOT);

  const exitReason = await vmThread;

  /*
   * Per-gmem attributes: with the memslot gone the GPA is shared, so a guest
   * whose accesses follow the attribute reads emulated MMIO. Per-VM: the
   * private attribute outlives the slot, and emulated MMIO is not allowed on
   * a private GPA, so KVM reports a memory fault. (A guest that marks its
   * accesses, TDX or SNP, still reads privately: a memory fault either way.)
   */
  if (kvmHasGmemAttributes() && platform.manifest.marker.model === 'attribute') {
    TEST_ASSERT_EQ(exitReason, KVM_EXIT_MMIO);
    TEST_ASSERT_EQ(vcpu.run.mmioPhysAddr, EXITS_TEST_GPA);
    TEST_ASSERT_EQ(vcpu.run.mmioLen, 8);
    TEST_ASSERT_EQ(vcpu.run.mmioIsWrite, 0);
  } else {
    TEST_ASSERT_EQ(exitReason, KVM_EXIT_MEMORY_FAULT);
    TEST_ASSERT_EQ(vcpu.run.memoryFaultFlags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
    TEST_ASSERT_EQ(vcpu.run.memoryFaultGpa, EXITS_TEST_GPA);
    TEST_ASSERT_EQ(vcpu.run.memoryFaultSize, EXITS_TEST_SIZE);
  }

  kvmVmFree(vm);
}

async function testPrivateAccessMemslotNotPrivate(shape: VmShape): Promise<void> {
  // Private without a guest_memfd cannot be asked for when guest_memfd holds the attribute.
  if (kvmHasGmemAttributes()) return;

  const { vm, vcpu } = vmCreateShapeWithOneVcpu(shape, guestRepeatedlyRead);
  TEST_ASSERT(platform.launchMinimal(vm.backend, vm.fd, [vcpu.fd]).ret === 0, 'launch failed');

  // A plain memslot (flags = 0): no guest_memfd behind it.
  vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, EXITS_TEST_GPA, EXITS_TEST_SLOT, EXITS_TEST_NPAGES, 0);

  vmMemSetPrivate(vm, EXITS_TEST_GPA, EXITS_TEST_SIZE);

  const exitReason = await runVcpuGetExitReason(vcpu);

  TEST_ASSERT_EQ(exitReason, KVM_EXIT_MEMORY_FAULT);
  TEST_ASSERT_EQ(vcpu.run.memoryFaultFlags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
  TEST_ASSERT_EQ(vcpu.run.memoryFaultGpa, EXITS_TEST_GPA);
  TEST_ASSERT_EQ(vcpu.run.memoryFaultSize, EXITS_TEST_SIZE);

  kvmVmFree(vm);
}

kvmSelftestMain(async () => {
  // KSFT_PLATFORM's VM type (C: KVM_X86_SW_PROTECTED_VM), which must have private memory.
  const plat = requirePlatformVmType({ privateMem: true });

  await testPrivateAccessMemslotDeleted(vmShape(plat.type));
  await testPrivateAccessMemslotNotPrivate(vmShape(plat.type));
});
