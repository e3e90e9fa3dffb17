/**
 * set_memory_region_test: memslot ioctls.
 *  - KVM_RUN with no memslots at all ends in KVM_EXIT_INTERNAL_ERROR;
 *  - every flag bit the VM does not support, and v2-only flags through the
 *    v1 ioctl, give EINVAL; GUEST_MEMFD with LOG_DIRTY_PAGES or READONLY
 *    gives EINVAL;
 *  - KVM_CAP_NR_MEMSLOTS slots can be added, one more gives EINVAL;
 *  - guest_memfd bindings: a KVM fd, a VM fd, a plain memfd or another VM's
 *    guest_memfd is EINVAL, an unaligned offset is EINVAL; slots whose GPA
 *    ranges overlap give EEXIST even when their gmem ranges do not.
 * The in-use MOVE/DELETE loops of the C program are not part of this port.
 */
import { EEXIST, EINVAL } from '../../lib/kvm/errno.js';
import {
  FALLOC_FL_KEEP_SIZE, KVM_CAP_GUEST_MEMFD, KVM_CAP_MEMORY_ATTRIBUTES, KVM_CAP_NR_MEMSLOTS, KVM_CAP_VM_TYPES, KVM_EXIT_INTERNAL_ERROR,
  KVM_MEM_GUEST_MEMFD, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_X86_SW_PROTECTED_VM,
  MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE,
} from '../../lib/kvm/uapi.js';
import { MAP_FAILED } from '../../lib/kvm/backend.js';
import { writeStdout } from '../../lib/kselftest/index.js';
import {
  TEST_ASSERT, TEST_ASSERT_KVM_EXIT_REASON, __vmSetUserMemoryRegion, __vmSetUserMemoryRegion2, close, kvmBackend,
  kvmCheckCap, kvmFallocate, kvmHasCap, kvmSelftestMain, kvmVmFree, memfdCreate, mmap, munmap, vcpuRun,
  vmCreateBarebones, vmCreateBarebonesType, vmCreateGuestMemfd, vmSetUserMemoryRegion, vmSetUserMemoryRegion2, vmVcpuAdd,
  type KvmVm,
} from '../../lib/kvm_util/index.js';

const MEM_REGION_SIZE = 0x200000;
const MEM_REGION_GPA = 0xc0000000n;
const MEM_REGION_SLOT = 10;
const MAP_NORESERVE = 0x4000;

const BIT = (i: number): number => (1 << i) >>> 0;
const pr = (s: string): void => writeStdout(s);

async function testZeroMemoryRegions(): Promise<void> {
  pr('Testing KVM_RUN with zero added memory regions\n');

  const vm = vmCreateBarebones();
  const vcpu = vmVcpuAdd(vm, 0);

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
  await testZeroMemoryRegions();

  testInvalidMemoryRegionFlags();

  testAddMaxMemoryRegions();

  if (kvmHasCap(KVM_CAP_GUEST_MEMFD) && kvmCheckCap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM)) {
    testAddPrivateMemoryRegion();
    testAddOverlappingPrivateMemoryRegions();
  } else {
    pr('Skipping tests for KVM_MEM_GUEST_MEMFD memory regions\n');
  }

  // argv[1] of the C program is the MOVE/DELETE loop count; it is still validated.
  if (argv.length > 0) {
    const n = /^\d+$/.test(argv[0]!) ? Number(argv[0]) : Number.NaN;
    TEST_ASSERT(n > 0, `Number of iterations must be greater than 0, got '${argv[0]}'`);
  }
});
