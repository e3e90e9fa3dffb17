/**
 * set_memory_region_test: memslot ioctls.
 *  - KVM_RUN with no memslots at all ends in KVM_EXIT_INTERNAL_ERROR;
 *  - every flag bit the VM does not support, and v2-only flags through the
 *    v1 ioctl, give EINVAL; GUEST_MEMFD with LOG_DIRTY_PAGES or READONLY
 *    gives EINVAL;
 *  - KVM_CAP_NR_MEMSLOTS slots can be added, one more gives EINVAL;
 *  - guest_memfd bindings: a KVM fd, a VM fd, a plain memfd or another VM's
 *    guest_memfd is EINVAL, an unaligned offset is EINVAL; slots whose GPA
 *    ranges overlap give EEXIST even when their gmem ranges do not;
 *  - a memslot in use by a spinning guest is MOVEd to a misaligned GPA and
 *    back (the guest sees the host's value or MMIO, never the stale page),
 *    and DELETEd and re-added (the guest sees MMIO, then the new zeroed
 *    memory), then slot 0 under the guest's own code is deleted: the vCPU
 *    ends in SHUTDOWN or INTERNAL_ERROR. Both loops run again with
 *    KVM_X86_QUIRK_SLOT_ZAP_ALL disabled where KVM offers that. C's check
 *    that an INTERNAL_ERROR's RIP lies in the final spin loop is not
 *    ported: guest code is compiled per backend and has no symbol there.
 */
import { EEXIST, EINVAL, ETIMEDOUT } from '../../lib/kvm/errno.js';
import {
  FALLOC_FL_KEEP_SIZE, KVM_CAP_DISABLE_QUIRKS2, KVM_CAP_GUEST_MEMFD, KVM_CAP_MEMORY_ATTRIBUTES, KVM_CAP_NR_MEMSLOTS, KVM_CAP_VM_TYPES,
  KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_IO, KVM_EXIT_MMIO, KVM_EXIT_SHUTDOWN, KVM_MEM_GUEST_MEMFD, KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY, KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_SET_NR_MMU_PAGES, KVM_X86_QUIRK_SLOT_ZAP_ALL, KVM_X86_SW_PROTECTED_VM,
  MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, UCALL_ABORT, UCALL_SYNC,
} from '../../lib/kvm/uapi.js';
import { MAP_FAILED } from '../../lib/kvm/backend.js';
import type { GuestReg } from '../../lib/kvm/guest_program.js';
import { any, eq, type GuestBuilder, type GuestCode } from '../../lib/guest/index.js';
import { writeStdout } from '../../lib/kselftest/index.js';
import {
  REPORT_GUEST_ASSERT, TEST_ASSERT, atoiPositive, TEST_ASSERT_KVM_EXIT_REASON, __vmSetUserMemoryRegion, __vmSetUserMemoryRegion2, addrGpa2Hva, close,
  getUcall, hostFill, hostWrite, kvmBackend, kvmCheckCap, kvmFallocate, kvmHasCap, kvmSelftestMain, kvmVmFree, memfdCreate, mmap,
  munmap, vcpuRun, vmCreateBarebones, vmCreateBarebonesType, vmCreateGuestMemfd, vmCreateWithOneVcpu, vmEnableCap, vmIoctl,
  vmMemRegionDelete, vmMemRegionMove, vmSetUserMemoryRegion, vmSetUserMemoryRegion2, vmUserspaceMemRegionAdd, vmVcpuAdd,
  VM_MEM_SRC_ANONYMOUS, type KvmVcpu, type KvmVm, type Ucall,
} from '../../lib/kvm_util/index.js';

const MEM_REGION_SIZE = 0x200000;
const MEM_REGION_GPA = 0xc0000000n;
const MEM_REGION_SLOT = 10;
const MAP_NORESERVE = 0x4000;

const BIT = (i: number): number => (1 << i) >>> 0;
const pr = (s: string): void => writeStdout(s);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the host answers a guest read of the region while it has no memslot. */
const MMIO_VAL = 0xbeefn;

/** sem_t vcpu_ready: the vCPU task posts on every GUEST_SYNC, the main flow waits with a deadline. */
class Semaphore {
  private count = 0;
  private waiter: (() => void) | undefined;

  post(): void {
    this.count++;
    this.waiter?.();
  }

  /** sem_timedwait(): false on timeout. */
  async timedWait(ms: number): Promise<boolean> {
    if (this.count === 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        this.waiter = r;
        timer = setTimeout(r, ms);
      });
      clearTimeout(timer);
      this.waiter = undefined;
    }
    if (this.count === 0) return false;
    this.count--;
    return true;
  }
}

const vcpuReady = new Semaphore();

/** guest_spin_on_val(): READ_ONCE the region's first u64 until it is not `spinVal`, then GUEST_SYNC(0). */
function guestSpinOnVal(g: GuestBuilder, val: GuestReg, spinVal: bigint): void {
  g.spinWhileEq(val, MEM_REGION_GPA, spinVal);
  g.sync(0);
}

/**
 * vcpu_worker(): run until the guest stops syncing, answering every MMIO
 * read of the region (the slot is being moved or is deleted) with MMIO_VAL.
 */
async function vcpuWorker(vcpu: KvmVcpu): Promise<void> {
  const run = vcpu.run;
  let uc: Ucall | undefined;
  for (;;) {
    await vcpuRun(vcpu);

    if (run.exitReason === KVM_EXIT_IO) {
      uc = getUcall(vcpu);
      if (uc.cmd !== UCALL_SYNC) break;
      vcpuReady.post();
      continue;
    }

    if (run.exitReason !== KVM_EXIT_MMIO) break;

    TEST_ASSERT(!run.mmioIsWrite, 'Unexpected exit mmio write');
    TEST_ASSERT(run.mmioLen === 8, `Unexpected exit mmio size = ${run.mmioLen}`);
    TEST_ASSERT(run.mmioPhysAddr === MEM_REGION_GPA, `Unexpected exit mmio address = 0x${run.mmioPhysAddr.toString(16)}`);
    run.mmioData = MMIO_VAL;
  }

  if (run.exitReason === KVM_EXIT_IO && uc?.cmd === UCALL_ABORT) REPORT_GUEST_ASSERT(uc, vcpu);
}

/** wait_for_vcpu(): a GUEST_SYNC within 2 s, then time for the vCPU to re-enter the guest. */
async function waitForVcpu(): Promise<void> {
  TEST_ASSERT(await vcpuReady.timedWait(2000), `sem_timedwait() failed: ${ETIMEDOUT}`);
  await sleep(100);
}

/**
 * spawn_vm(): one vCPU in `guestCode`, the 2 MiB region at MEM_REGION_GPA
 * zeroed where the guest reads it, the vCPU task started and synced once.
 */
async function spawnVm(guestCode: GuestCode): Promise<{ vm: KvmVm; vcpu: KvmVcpu; worker: Promise<void> }> {
  const { vm, vcpu } = vmCreateWithOneVcpu(guestCode);
  vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, MEM_REGION_GPA, MEM_REGION_SLOT, MEM_REGION_SIZE / PAGE_SIZE, 0);
  hostFill(addrGpa2Hva(vm, MEM_REGION_GPA), 2 * 4096, 0);
  const worker = vcpuWorker(vcpu);
  await waitForVcpu();
  return { vm, vcpu, worker };
}

const guestCodeMoveMemoryRegion: GuestCode = (g) => {
  const val = g.reg();

  g.sync(0);

  // Spin until the region starts moving to a misaligned GPA; the move may or may not be seen as MMIO.
  guestSpinOnVal(g, val, 0n);
  g.assert(any(eq(val, 1), eq(val, MMIO_VAL)), 'val == 1 || val == MMIO_VAL', "Expected '1' or MMIO ('%lx'), got '%lx'", MMIO_VAL, val);

  // Spin until the misaligning move completes.
  guestSpinOnVal(g, val, MMIO_VAL);
  g.assert(any(eq(val, 1), eq(val, 0)), 'val == 1 || val == 0', "Expected '0' or '1' (no MMIO), got '%lx'", val);

  // Spin until the region starts moving back.
  guestSpinOnVal(g, val, 0n);
  g.assert(any(eq(val, 1), eq(val, MMIO_VAL)), 'val == 1 || val == MMIO_VAL', "Expected '1' or MMIO ('%lx'), got '%lx'", MMIO_VAL, val);

  // Spin until the re-aligning move completes.
  guestSpinOnVal(g, val, MMIO_VAL);
  g.assertEq(val, 1, 'val', '1');

  g.done();
};

async function testMoveMemoryRegion(disableSlotZapQuirk: boolean): Promise<void> {
  const { vm, worker } = await spawnVm(guestCodeMoveMemoryRegion);

  if (disableSlotZapQuirk) vmEnableCap(vm, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_SLOT_ZAP_ALL);

  const hva = addrGpa2Hva(vm, MEM_REGION_GPA);

  // Shift the base GPA: the guest must not see "2", its GPA now maps another host page.
  vmMemRegionMove(vm, MEM_REGION_SLOT, MEM_REGION_GPA - 4096n);
  hostWrite(hva, u64(2n));

  // The guest may catch the slot invalid mid-move and see MMIO; let it settle.
  await sleep(100);

  // The value changes before the slot comes back, or the guest could race it and see "2".
  hostWrite(hva, u64(1n));

  // Back to the original base: the guest sees "1".
  vmMemRegionMove(vm, MEM_REGION_SLOT, MEM_REGION_GPA);
  await waitForVcpu();
  // The sync deferred while the slot was misaligned.
  await waitForVcpu();

  await worker;
  kvmVmFree(vm);
}

const guestCodeDeleteMemoryRegion: GuestCode = (g) => {
  const val = g.reg();
  // No IDT to clobber: the guest's IDT is empty (limit 0) from the start, so
  // a #PF once its memory is gone escalates to a triple fault, not a handler.

  g.sync(0);

  // Spin until the region is deleted.
  guestSpinOnVal(g, val, 0n);
  g.assertEq(val, MMIO_VAL, 'val', 'MMIO_VAL');

  // Spin until it is recreated.
  guestSpinOnVal(g, val, MMIO_VAL);
  g.assertEq(val, 0, 'val', '0');

  // Spin until it is deleted again.
  guestSpinOnVal(g, val, 0n);
  g.assertEq(val, MMIO_VAL, 'val', 'MMIO_VAL');

  // Spin for good, until the memslot holding the code itself goes.
  guestSpinOnVal(g, val, MMIO_VAL);

  g.assert(false, '0');
};

async function testDeleteMemoryRegion(disableSlotZapQuirk: boolean): Promise<void> {
  const { vm, vcpu, worker } = await spawnVm(guestCodeDeleteMemoryRegion);

  if (disableSlotZapQuirk) vmEnableCap(vm, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_SLOT_ZAP_ALL);

  // Delete the region: the guest must not die.
  vmMemRegionDelete(vm, MEM_REGION_SLOT);
  await waitForVcpu();

  // Recreate it: the guest sees "0".
  vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, MEM_REGION_GPA, MEM_REGION_SLOT, MEM_REGION_SIZE / PAGE_SIZE, 0);
  await waitForVcpu();

  // Delete it again so that one memslot is left.
  vmMemRegionDelete(vm, MEM_REGION_SLOT);
  await waitForVcpu();

  // Delete slot 0, with the guest's page tables and code: emulation error or shutdown.
  vmMemRegionDelete(vm, 0);

  await worker;

  const reason = vcpu.run.exitReason;
  TEST_ASSERT(reason === KVM_EXIT_SHUTDOWN || reason === KVM_EXIT_INTERNAL_ERROR, `Unexpected exit reason = ${reason}`);

  kvmVmFree(vm);
}

function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

async function testZeroMemoryRegions(): Promise<void> {
  pr('Testing KVM_RUN with zero added memory regions\n');

  const vm = vmCreateBarebones();
  const vcpu = vmVcpuAdd(vm, 0);

  // x86's shadow MMU sizes its page budget from the memslots: with none, KVM_RUN is ENOSPC.
  vmIoctl(vm, KVM_SET_NR_MMU_PAGES, 64);
  await vcpuRun(vcpu);
  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_INTERNAL_ERROR);

  kvmVmFree(vm);
}

function testInvalidMemoryRegionFlags(): void {
  // x86 supports read-only memslots; GUEST_MEMFD exists only in the v2 struct.
  let supportedFlags = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;
  const v2OnlyFlags = KVM_MEM_GUEST_MEMFD;

  const vm = kvmCheckCap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM)
    ? vmCreateBarebonesType(KVM_X86_SW_PROTECTED_VM)
    : vmCreateBarebones();

  if (BigInt(kvmCheckCap(KVM_CAP_MEMORY_ATTRIBUTES)) & KVM_MEMORY_ATTRIBUTE_PRIVATE) supportedFlags |= KVM_MEM_GUEST_MEMFD;

  for (let i = 0; i < 32; i++) {
    if (supportedFlags & BIT(i) && !(v2OnlyFlags & BIT(i))) continue;

    let r = __vmSetUserMemoryRegion(vm, 0, BIT(i), 0, MEM_REGION_SIZE, 0);
    TEST_ASSERT(r.ret && r.errno === EINVAL, `KVM_SET_USER_MEMORY_REGION should have failed on v2 only flag 0x${BIT(i).toString(16)}`);

    if (supportedFlags & BIT(i)) continue;

    r = __vmSetUserMemoryRegion2(vm, 0, BIT(i), 0, MEM_REGION_SIZE, 0, 0, 0);
    TEST_ASSERT(r.ret && r.errno === EINVAL, `KVM_SET_USER_MEMORY_REGION2 should have failed on unsupported flag 0x${BIT(i).toString(16)}`);
  }

  if (supportedFlags & KVM_MEM_GUEST_MEMFD) {
    const guestMemfd = vmCreateGuestMemfd(vm, MEM_REGION_SIZE, 0);

    let r = __vmSetUserMemoryRegion2(vm, 0, KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_GUEST_MEMFD, 0, MEM_REGION_SIZE, 0, guestMemfd, 0);
    TEST_ASSERT(r.ret && r.errno === EINVAL, 'KVM_SET_USER_MEMORY_REGION2 should have failed, dirty logging private memory is unsupported');

    r = __vmSetUserMemoryRegion2(vm, 0, KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD, 0, MEM_REGION_SIZE, 0, guestMemfd, 0);
    TEST_ASSERT(r.ret && r.errno === EINVAL, 'KVM_SET_USER_MEMORY_REGION2 should have failed, read-only GUEST_MEMFD memslots are unsupported');

    close(guestMemfd);
  }
  kvmVmFree(vm);
}

function testAddMaxMemoryRegions(): void {
  const maxMemSlots = kvmCheckCap(KVM_CAP_NR_MEMSLOTS);
  TEST_ASSERT(maxMemSlots > 0, 'KVM_CAP_NR_MEMSLOTS should be greater than 0');
  pr(`Allowed number of memory slots: ${maxMemSlots}\n`);

  const vm = vmCreateBarebones();

  pr(`Adding slots 0..${maxMemSlots - 1}, each memory region with ${MEM_REGION_SIZE >> 10}K size\n`);

  const total = BigInt(maxMemSlots) * BigInt(MEM_REGION_SIZE);
  const mem = mmap(0n, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  TEST_ASSERT(mem.addr !== MAP_FAILED, 'Failed to mmap() host');

  for (let slot = 0; slot < maxMemSlots; slot++) {
    vmSetUserMemoryRegion(vm, slot, 0, BigInt(slot) * BigInt(MEM_REGION_SIZE), MEM_REGION_SIZE,
      mem.addr + BigInt(slot) * BigInt(MEM_REGION_SIZE));
  }

  // One more than the limit.
  const memExtra = mmap(0n, MEM_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  TEST_ASSERT(memExtra.addr !== MAP_FAILED, 'Failed to mmap() host');

  const r = __vmSetUserMemoryRegion(vm, maxMemSlots, 0, BigInt(maxMemSlots) * BigInt(MEM_REGION_SIZE), MEM_REGION_SIZE, memExtra.addr);
  TEST_ASSERT(r.ret === -1 && r.errno === EINVAL, 'Adding one more memory slot should fail with EINVAL');

  munmap(mem.addr, total);
  munmap(memExtra.addr, MEM_REGION_SIZE);
  kvmVmFree(vm);
}

function testInvalidGuestMemfd(vm: KvmVm, memfd: number, offset: number, msg: string): void {
  const r = __vmSetUserMemoryRegion2(vm, MEM_REGION_SLOT, KVM_MEM_GUEST_MEMFD, MEM_REGION_GPA, MEM_REGION_SIZE, 0, memfd, offset);
  TEST_ASSERT(r.ret === -1 && r.errno === EINVAL, msg);
}

/** kvm_memfd_alloc(size, false): a plain memfd of `size` bytes, allocated. */
function kvmMemfdAlloc(size: number): number {
  const fd = memfdCreate('kvm_selftest', 0).ret;
  TEST_ASSERT(fd >= 0, 'memfd_create() failed');
  const t = kvmBackend().ftruncate(fd, BigInt(size));
  TEST_ASSERT(!t.ret, 'ftruncate() failed');
  kvmFallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size);
  return fd;
}

function testAddPrivateMemoryRegion(): void {
  pr('Testing ADD of KVM_MEM_GUEST_MEMFD memory regions\n');

  const vm = vmCreateBarebonesType(KVM_X86_SW_PROTECTED_VM);

  testInvalidGuestMemfd(vm, vm.kvmFd, 0, 'KVM fd should fail');
  testInvalidGuestMemfd(vm, vm.fd, 0, "VM's fd should fail");

  let memfd = kvmMemfdAlloc(MEM_REGION_SIZE);
  testInvalidGuestMemfd(vm, memfd, 0, 'Regular memfd() should fail');
  close(memfd);

  const vm2 = vmCreateBarebonesType(KVM_X86_SW_PROTECTED_VM);
  memfd = vmCreateGuestMemfd(vm2, MEM_REGION_SIZE, 0);
  testInvalidGuestMemfd(vm, memfd, 0, "Other VM's guest_memfd() should fail");

  // ...while it binds to its own VM.
  vmSetUserMemoryRegion2(vm2, MEM_REGION_SLOT, KVM_MEM_GUEST_MEMFD, MEM_REGION_GPA, MEM_REGION_SIZE, 0, memfd, 0);
  close(memfd);
  kvmVmFree(vm2);

  memfd = vmCreateGuestMemfd(vm, MEM_REGION_SIZE, 0);
  for (let i = 1; i < PAGE_SIZE; i++) testInvalidGuestMemfd(vm, memfd, i, 'Unaligned offset should fail');

  vmSetUserMemoryRegion2(vm, MEM_REGION_SLOT, KVM_MEM_GUEST_MEMFD, MEM_REGION_GPA, MEM_REGION_SIZE, 0, memfd, 0);
  close(memfd);

  kvmVmFree(vm);
}

function testAddOverlappingPrivateMemoryRegions(): void {
  pr('Testing ADD of overlapping KVM_MEM_GUEST_MEMFD memory regions\n');

  const vm = vmCreateBarebonesType(KVM_X86_SW_PROTECTED_VM);

  const memfd = vmCreateGuestMemfd(vm, MEM_REGION_SIZE * 4, 0);

  vmSetUserMemoryRegion2(vm, MEM_REGION_SLOT, KVM_MEM_GUEST_MEMFD, MEM_REGION_GPA, MEM_REGION_SIZE * 2, 0, memfd, 0);
  vmSetUserMemoryRegion2(vm, MEM_REGION_SLOT + 1, KVM_MEM_GUEST_MEMFD, MEM_REGION_GPA * 2n, MEM_REGION_SIZE * 2, 0, memfd, MEM_REGION_SIZE * 2);

  // Delete the first slot, then try to recreate it over the second slot's GPAs (its gmem range stays disjoint).
  vmSetUserMemoryRegion2(vm, MEM_REGION_SLOT, KVM_MEM_GUEST_MEMFD, MEM_REGION_GPA, 0, 0, -1, 0);

  // The front half of the other slot.
  let r = __vmSetUserMemoryRegion2(vm, MEM_REGION_SLOT, KVM_MEM_GUEST_MEMFD, MEM_REGION_GPA * 2n - BigInt(MEM_REGION_SIZE),
    MEM_REGION_SIZE * 2, 0, memfd, 0);
  TEST_ASSERT(r.ret === -1 && r.errno === EEXIST, 'Overlapping guest_memfd() bindings should fail with EEXIST');

  // And the back half.
  r = __vmSetUserMemoryRegion2(vm, MEM_REGION_SLOT, KVM_MEM_GUEST_MEMFD, MEM_REGION_GPA * 2n + BigInt(MEM_REGION_SIZE),
    MEM_REGION_SIZE * 2, 0, memfd, 0);
  TEST_ASSERT(r.ret === -1 && r.errno === EEXIST, 'Overlapping guest_memfd() bindings should fail with EEXIST');

  close(memfd);
  kvmVmFree(vm);
}

kvmSelftestMain(async (argv) => {
  let disableSlotZapQuirk = 0;
  if (kvmCheckCap(KVM_CAP_DISABLE_QUIRKS2) & KVM_X86_QUIRK_SLOT_ZAP_ALL) disableSlotZapQuirk = 1;

  await testZeroMemoryRegions();

  testInvalidMemoryRegionFlags();

  testAddMaxMemoryRegions();

  if (kvmHasCap(KVM_CAP_GUEST_MEMFD) && kvmCheckCap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM)) {
    testAddPrivateMemoryRegion();
    testAddOverlappingPrivateMemoryRegions();
  } else {
    pr('Skipping tests for KVM_MEM_GUEST_MEMFD memory regions\n');
  }

  let loops = 10;
  if (argv.length > 0) loops = atoiPositive('Number of iterations', argv[0]!);

  for (let j = 0; j <= disableSlotZapQuirk; j++) {
    pr(`Testing MOVE of in-use region, ${loops} loops, slot zap quirk ${j ? 'disabled' : 'enabled'}\n`);
    for (let i = 0; i < loops; i++) await testMoveMemoryRegion(j !== 0);

    pr(`Testing DELETE of in-use region, ${loops} loops, slot zap quirk ${j ? 'disabled' : 'enabled'}\n`);
    for (let i = 0; i < loops; i++) await testDeleteMemoryRegion(j !== 0);
  }
});
