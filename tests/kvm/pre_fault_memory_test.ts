/**
 * pre_fault_memory_test: KVM_PRE_FAULT_MEMORY maps guest memory ahead of
 * the guest's first access and reports progress in the in/out struct: a
 * range inside the slot completes with size 0, a range running past the
 * slot stops there with ENOENT and the rest left in `size`. Run for the
 * default VM and for SW_PROTECTED with shared and with private memory.
 * With PRIVATE tracked per guest_memfd (7.4) the private slot's gmem is
 * private as created, as in the series' update of the C test.
 *
 * A worker deletes and recreates the slot while the main flow pre-faults
 * (the later upstream race test). Here the worker is an async task that
 * waits on flags the main flow sets, and the main flow yields to it between
 * calls, as the C worker thread spins on READ_ONCE() flags.
 */
import { EINTR, ENOENT } from '../../lib/kvm/errno.js';
import { decodePreFaultMemory, encodePreFaultMemory } from '../../lib/kvm/structs.js';
import {
  KVM_CAP_PRE_FAULT_MEMORY, KVM_CAP_VM_TYPES, KVM_MEM_GUEST_MEMFD, KVM_PRE_FAULT_MEMORY, KVM_X86_SW_PROTECTED_VM, PAGE_SIZE,
  SZ_2M, UCALL_ABORT, UCALL_DONE,
} from '../../lib/kvm/uapi.js';
import type { GuestBuilder } from '../../lib/guest/builder.js';
import { writeStdout } from '../../lib/kselftest/index.js';
import {
  REPORT_GUEST_ASSERT, TEST_ASSERT, TEST_FAIL, TEST_REQUIRE, __vcpuIoctl, assertVmVcpuIoctl, getUcall, kvmCheckCap,
  kvmHasGmemAttributes, kvmSelftestMain, kvmVmFree, vcpuArgsSet, vcpuRun, vmCreateShapeWithOneVcpu, vmMemRegionDelete, vmMemSetPrivate, vmShape,
  vmUserspaceMemRegionAdd, VM_MEM_SRC_ANONYMOUS, type KvmVcpu, type KvmVm,
} from '../../lib/kvm_util/index.js';

const TEST_SIZE = SZ_2M + PAGE_SIZE;
const TEST_NPAGES = TEST_SIZE / PAGE_SIZE;
const TEST_SLOT = 10;

/** Read one u64 from every page, then GUEST_DONE(). */
const guestCode = (g: GuestBuilder, base: bigint): void => {
  for (let i = 0; i < TEST_NPAGES; i++) g.read(base + BigInt(i * PAGE_SIZE), 8);
  g.done();
};

/** Let other tasks (the slot worker) run, as cpu_relax() in a spin loop lets the other thread. */
const cpuRelax = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface SlotWorkerData {
  readonly vm: KvmVm;
  readonly gpa: bigint;
  readonly flags: number;
  workerReady: boolean;
  prefaultReady: boolean;
  recreateSlot: boolean;
}

async function deleteSlotWorker(data: SlotWorkerData): Promise<void> {
  data.workerReady = true;

  while (!data.prefaultReady) await cpuRelax();

  vmMemRegionDelete(data.vm, TEST_SLOT);

  while (!data.recreateSlot) await cpuRelax();

  vmUserspaceMemRegionAdd(data.vm, VM_MEM_SRC_ANONYMOUS, data.gpa, TEST_SLOT, TEST_NPAGES, data.flags);
}

async function preFaultMemory(vcpu: KvmVcpu, baseGpa: bigint, offset: number, size: number, expectedLeft: number, priv: boolean): Promise<void> {
  const range = encodePreFaultMemory({ gpa: baseGpa + BigInt(offset), size, flags: 0 });
  const data: SlotWorkerData = {
    vm: vcpu.vm, gpa: baseGpa, flags: priv ? KVM_MEM_GUEST_MEMFD : 0, workerReady: false, prefaultReady: false, recreateSlot: false,
  };
  let slotRecreated = false;
  let ret = 0;
  let saveErrno = 0;

  // Delete (and recreate) the slot concurrently: KVM must cope with a memslot going away mid pre-fault.
  const slotWorker = deleteSlotWorker(data);

  while (!data.workerReady) await cpuRelax();

  data.prefaultReady = true;
  await cpuRelax();

  for (;;) {
    const prev = decodePreFaultMemory(range).size;
    const r = __vcpuIoctl(vcpu, KVM_PRE_FAULT_MEMORY, range);
    ret = r.ret;
    saveErrno = r.errno;
    const left = decodePreFaultMemory(range).size;
    TEST_ASSERT((left < prev) !== (ret < 0),
      `${ret < 0 ? 'not ' : ''}expecting range.size to change on ${ret < 0 ? 'failure' : 'success'}`);

    // Interrupted by something unrelated: retry at once.
    if (ret < 0 && saveErrno === EINTR) continue;

    // Have the slot recreated (to finish, or for the next case) and wait for the worker.
    if (!slotRecreated) {
      data.recreateSlot = true;
      await slotWorker;
      slotRecreated = true;

      // Retry for a stable result (no transient EAGAIN), unless already done: size 0 is EINVAL.
      if (left) continue;
    }

    // Done when nothing is left, or on a real failure (the slot exists again, so not EAGAIN).
    if (!left || ret < 0) break;
  }

  const left = decodePreFaultMemory(range).size;
  TEST_ASSERT(left === BigInt(expectedLeft), `Completed with ${left} bytes left, expected ${expectedLeft}`);

  // All of it, or a failure because the rest has no memslot (ENOENT, RET_PF_EMULATE for emulated MMIO).
  if (!expectedLeft) assertVmVcpuIoctl(vcpu.vm, !ret, 'KVM_PRE_FAULT_MEMORY', ret);
  else assertVmVcpuIoctl(vcpu.vm, ret !== 0 && saveErrno === ENOENT, 'KVM_PRE_FAULT_MEMORY', ret, 'ret && save_errno == ENOENT');
}

async function __testPreFaultMemory(vmType: number, priv: boolean): Promise<void> {
  const { vm, vcpu } = vmCreateShapeWithOneVcpu(vmShape(vmType), guestCode);

  // Just below the top of the guest physical address space, 2M-aligned.
  const gpa = ((vm.maxGfn - BigInt(TEST_NPAGES)) * BigInt(vm.pageSize)) & ~BigInt(SZ_2M - 1);

  vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, gpa, TEST_SLOT, TEST_NPAGES, priv ? KVM_MEM_GUEST_MEMFD : 0);

  // 7.4 in place: a guest_memfd made without INIT_SHARED is private from the start
  // (kvm_gmem_init_inode()), so only per-VM attributes need the conversion.
  if (priv && !kvmHasGmemAttributes()) vmMemSetPrivate(vm, gpa, TEST_SIZE);

  await preFaultMemory(vcpu, gpa, 0, SZ_2M, 0, priv);
  await preFaultMemory(vcpu, gpa, SZ_2M, PAGE_SIZE * 2, PAGE_SIZE, priv);
  await preFaultMemory(vcpu, gpa, TEST_SIZE, PAGE_SIZE, PAGE_SIZE, priv);

  // Guest programs address memory by GPA (no guest page tables to virt_map()).
  vcpuArgsSet(vcpu, gpa);
  await vcpuRun(vcpu);

  const uc = getUcall(vcpu);
  switch (uc.cmd) {
    case UCALL_ABORT:
      REPORT_GUEST_ASSERT(uc, vcpu);
    // falls through: REPORT_GUEST_ASSERT does not return
    case UCALL_DONE:
      break;
    default:
      TEST_FAIL(`Unknown ucall 0x${uc.cmd.toString(16)}.`);
  }

  kvmVmFree(vm);
}

async function testPreFaultMemory(vmType: number, priv: boolean): Promise<void> {
  if (vmType && !(kvmCheckCap(KVM_CAP_VM_TYPES) & (1 << vmType))) {
    writeStdout(`Skipping tests for vm_type 0x${vmType.toString(16)}\n`);
    return;
  }
  await __testPreFaultMemory(vmType, priv);
}

kvmSelftestMain(async () => {
  TEST_REQUIRE(kvmCheckCap(KVM_CAP_PRE_FAULT_MEMORY), 'kvm_check_cap(KVM_CAP_PRE_FAULT_MEMORY)');

  await testPreFaultMemory(0, false);
  await testPreFaultMemory(KVM_X86_SW_PROTECTED_VM, false);
  await testPreFaultMemory(KVM_X86_SW_PROTECTED_VM, true);
});
