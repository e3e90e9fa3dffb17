/**
 * guest_memfd_conversions_test (x86/guest_memfd_conversions_test.c of the
 * in-place conversion series queued for 7.4): a guest_memfd made MMAP, with
 * or without INIT_SHARED, is the only memory of a SW_PROTECTED VM's slot and
 * is also what the host has mapped. KVM_SET_MEMORY_ATTRIBUTES2 on the
 * guest_memfd flips pages between shared and private in place: a shared
 * page is read and written by host and guest alike, a private page is the
 * guest's alone (the host's touch is SIGBUS), and the data survives each
 * conversion because it is one page throughout.
 *
 * Tests, as upstream: init_private, init_shared, indexing (each of 4 pages
 * converted while its neighbours stay shared), before_allocation_shared and
 * _private (conversions recorded before any folio exists), unallocated_folios
 * (8 layouts of allocated and unallocated pages in one conversion),
 * truncate (a punch frees the page but keeps its state: a punched shared
 * page reads as zeros, a punched private page is private and zero to the
 * guest), forked_accesses (a second process sees the same states), and
 * elevated_refcount (a pinned page refuses conversion to private with
 * EAGAIN and error_offset naming it, in bulk and page-wise).
 *
 * Every setup checks that the host's address and the guest's private page
 * are one page (TEST_ASSERT_SAME_BACKING), so no test here can pass on
 * memory the guest does not use.
 *
 * The guest's read-modify-write (guest_do_rmw) gets its page and values as
 * constants of a program loaded before each run (vcpu_arch_set_entry_point),
 * where C syncs a global to the guest and loops. Each test is its own
 * process, as in the kselftest harness.
 */
import { EAGAIN, EINTR, strerror } from '../../lib/kvm/errno.js';
import {
  FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES,
  KVM_CAP_VM_TYPES, KVM_MEM_GUEST_MEMFD, KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_X86_SW_PROTECTED_VM, UCALL_ABORT, UCALL_SYNC,
} from '../../lib/kvm/uapi.js';
import type { HostProcess } from '../../lib/kvm/backend.js';
import type { GuestBuilder } from '../../lib/guest/builder.js';
import { FIXTURE, FIXTURE_TEARDOWN, SKIP, TEST_F, TEST_HARNESS_MAIN, isHarnessTestProcess } from '../../lib/harness/index.js';
import {
  REPORT_GUEST_ASSERT, TEST_ASSERT, TEST_ASSERT_EQ, TEST_ASSERT_SAME_BACKING, TEST_EXPECT_SIGBUS, TEST_FAIL, TEST_REQUIRE,
  __gmemSetPrivate, __vcpuRun, __vmCreateShapeWithOneVcpu, addrGpa2Hva, forkHostProcess, getUcall, gmemSetPrivate, gmemSetShared,
  hostRead, hostWrite, kvmBackend, kvmCheckCap, kvmFallocate, kvmSelftestInit, kvmSlotToFd, kvmVmFree, pinPages, unpinPages,
  vcpuSetGuestCode, vmMemAdd, vmShape, VM_MEM_SRC_SHMEM, type Hva, type KvmVcpu, type KvmVm,
} from '../../lib/kvm_util/index.js';

/** Above APIC_DEFAULT_PHYS_BASE, as upstream picks SZ_4G. */
const TEST_GPA = 0x100000000n;
const TEST_SLOT = 1;
const PAGE = 4096n;

/** One setup's state: every test body gets it whole. */
interface Conversions {
  vcpu: KvmVcpu;
  gmemFd: number;
  /** HVA of the guest_memfd's first byte, mmap()ed by vm_mem_add(). */
  mem: Hva;
}

/**
 * The fixture holds what the teardown frees: the VM of the test's last
 * setup, which the body makes (C: GMEM_CONVERSION_TEST() calls
 * gmem_conversions_do_setup() inside the test, and FIXTURE_SETUP is empty),
 * so a body that failed before it leaves none.
 */
const gmemConversions = FIXTURE('gmem_conversions', (): { vm: KvmVm | null } => ({ vm: null }));

/**
 * gmem_conversions_do_setup(): a SW_PROTECTED VM with one vCPU and slot 1
 * at 4G backed by a new guest_memfd of `nrPages` with `gmemFlags`, mapped
 * by the host as the slot's memory (VM_MEM_SRC_SHMEM with GUEST_MEMFD_FLAG_MMAP).
 */
function doSetup(self: { vm: KvmVm | null }, nrPages: number, gmemFlags: bigint): Conversions {
  const { vm, vcpu } = __vmCreateShapeWithOneVcpu(vmShape(KVM_X86_SW_PROTECTED_VM), nrPages);
  self.vm = vm;
  vmMemAdd(vm, VM_MEM_SRC_SHMEM, TEST_GPA, TEST_SLOT, nrPages, KVM_MEM_GUEST_MEMFD, -1, 0n, gmemFlags);
  // The pages the host checks must be the pages the guest converts.
  for (let i = 0n; i < BigInt(nrPages); i++) TEST_ASSERT_SAME_BACKING(vm, TEST_GPA + i * PAGE);
  return { vcpu, gmemFd: kvmSlotToFd(vm, TEST_SLOT), mem: addrGpa2Hva(vm, TEST_GPA) };
}

/** gmem_conversions_do_teardown(): free the VM once (multipage tests tear down per page). */
function doTeardown(self: { vm: KvmVm | null }): void {
  if (!self.vm) return;
  kvmVmFree(self.vm);
  self.vm = null;
}

FIXTURE_TEARDOWN(gmemConversions, (self) => doTeardown(self));

const hvaOf = (t: Conversions, pgoff: number): bigint => t.mem + BigInt(pgoff) * PAGE;

/** GMEM_CONVERSION_TEST(): one setup with MMAP plus `flags`, then the body. */
function conversionTest(name: string, nrPages: number, flags: bigint, body: (t: Conversions, nrPages: number) => Promise<void>): void {
  TEST_F(gmemConversions, name, async (self) => {
    await body(doSetup(self, nrPages, flags | GUEST_MEMFD_FLAG_MMAP), nrPages);
  });
}
const initPrivateTest = (name: string, body: (t: Conversions, nrPages: number) => Promise<void>): void => conversionTest(name, 1, 0n, body);
const initSharedTest = (name: string, body: (t: Conversions, nrPages: number) => Promise<void>): void =>
  conversionTest(name, 1, GUEST_MEMFD_FLAG_INIT_SHARED, body);

/**
 * GMEM_CONVERSION_MULTIPAGE_TEST_INIT_SHARED(): the body once per page of an
 * `nrPages` guest_memfd, each time on a fresh VM, with that page under test.
 */
function multipageTest(name: string, nrPages: number, body: (t: Conversions, nrPages: number, testPage: number) => Promise<void>): void {
  TEST_F(gmemConversions, name, async (self) => {
    for (let i = 0; i < nrPages; i++) {
      await body(doSetup(self, nrPages, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED), nrPages, i);
      doTeardown(self);
    }
  });
}

/** guest_do_rmw(): the byte must hold `expected`; then write `value` and GUEST_SYNC(0). */
function guestDoRmw(g: GuestBuilder, gpa: bigint, expected: number, value: number): void {
  const v = g.reg();
  g.load(v, gpa, 1);
  g.assertEq(v, expected, 'READ_ONCE(*mem)', 'READ_ONCE(guest_data.expected_val)');
  g.store(gpa, value, 1);
  g.sync(0);
}

async function runGuestDoRmw(vcpu: KvmVcpu, pgoff: number, expected: number, value: number): Promise<void> {
  vcpuSetGuestCode(vcpu, (g) => guestDoRmw(g, TEST_GPA + BigInt(pgoff) * PAGE, expected & 0xff, value & 0xff));
  let r;
  do {
    r = await __vcpuRun(vcpu);
  } while (r.ret === -1 && r.errno === EINTR);
  TEST_ASSERT_EQ(r.ret, 0);
  const uc = getUcall(vcpu);
  switch (uc.cmd) {
    case UCALL_ABORT:
      REPORT_GUEST_ASSERT(uc, vcpu);
    // falls through: REPORT_GUEST_ASSERT does not return
    case UCALL_SYNC:
      break;
    default:
      TEST_FAIL(`Unexpected ucall ${uc.cmd}`);
  }
}

/** What one process sees and writes at a host address. */
interface HostMemory {
  hostRead(hva: bigint, length: number): Uint8Array;
  hostWrite(hva: bigint, data: Uint8Array): void;
}
const parent: HostMemory = { hostRead, hostWrite };

const readByte = (p: HostMemory, at: bigint): number => p.hostRead(at, 1)[0]!;
const writeByte = (p: HostMemory, at: bigint, v: number): void => p.hostWrite(at, Uint8Array.of(v & 0xff));

/** host_do_rmw(): the host's byte must hold `expected`; then it writes `value`. */
function hostDoRmw(t: Conversions, pgoff: number, expected: number, value: number, p: HostMemory = parent): void {
  TEST_ASSERT_EQ(readByte(p, hvaOf(t, pgoff)), expected & 0xff);
  writeByte(p, hvaOf(t, pgoff), value);
}

/** test_private(): the host cannot touch the page; the guest reads `starting` and writes `value`. */
async function testPrivate(t: Conversions, pgoff: number, starting: number, value: number): Promise<void> {
  TEST_EXPECT_SIGBUS(() => writeByte(parent, hvaOf(t, pgoff), value));
  await runGuestDoRmw(t.vcpu, pgoff, starting, value);
  TEST_EXPECT_SIGBUS(() => readByte(parent, hvaOf(t, pgoff)));
}

async function testConvertToPrivate(t: Conversions, pgoff: number, starting: number, value: number): Promise<void> {
  gmemSetPrivate(t.gmemFd, BigInt(pgoff) * PAGE, PAGE);
  await testPrivate(t, pgoff, starting, value);
}

/** test_shared(): host and guest take turns on the same byte, each seeing the other's write. */
async function testShared(t: Conversions, pgoff: number, starting: number, hostValue: number, value: number): Promise<void> {
  hostDoRmw(t, pgoff, starting, hostValue);
  await runGuestDoRmw(t.vcpu, pgoff, hostValue, value);
  TEST_ASSERT_EQ(readByte(parent, hvaOf(t, pgoff)), value & 0xff);
}

async function testConvertToShared(t: Conversions, pgoff: number, starting: number, hostValue: number, value: number): Promise<void> {
  gmemSetShared(t.gmemFd, BigInt(pgoff) * PAGE, PAGE);
  await testShared(t, pgoff, starting, hostValue, value);
}

const ch = (c: string): number => c.charCodeAt(0);

initPrivateTest('init_private', async (t) => {
  await testPrivate(t, 0, 0, ch('A'));
  await testConvertToShared(t, 0, ch('A'), ch('B'), ch('C'));
  await testConvertToPrivate(t, 0, ch('C'), ch('E'));
});

initSharedTest('init_shared', async (t) => {
  await testShared(t, 0, 0, ch('A'), ch('B'));
  await testConvertToPrivate(t, 0, ch('B'), ch('C'));
  await testConvertToShared(t, 0, ch('C'), ch('D'), ch('E'));
});

multipageTest('indexing', 4, async (t, nrPages, testPage) => {
  // A value that varies with both the page and the step.
  const at = (i: number, n: number): number => (i << 4) + n;

  // Highest index first, to catch the first page being returned for every index.
  for (let i = nrPages - 1; i >= 0; i--) await testShared(t, i, 0, at(i, 0), at(i, 2));

  await testConvertToPrivate(t, testPage, at(testPage, 2), at(testPage, 3));

  for (let i = 0; i < nrPages; i++) {
    if (i === testPage) await testPrivate(t, testPage, at(testPage, 3), at(testPage, 4));
    else await testShared(t, i, at(i, 2), at(i, 3), at(i, 4));
  }

  await testConvertToShared(t, testPage, at(testPage, 4), at(testPage, 5), at(testPage, 6));

  for (let i = 0; i < nrPages; i++) {
    const expected = i === testPage ? at(testPage, 6) : at(i, 4);
    await testShared(t, i, expected, at(i, 7), at(i, 8));
  }
});

// A conversion is recorded in guest_memfd even when no folio exists yet.
initSharedTest('before_allocation_shared', async (t) => {
  await testConvertToPrivate(t, 0, 0, ch('A'));
});

initPrivateTest('before_allocation_private', async (t) => {
  await testConvertToShared(t, 0, 0, ch('A'), ch('B'));
});

/**
 * One conversion over allocated and unallocated pages in every layout the
 * page under test and page 4 make (page 4 alone when they coincide).
 */
multipageTest('unallocated_folios', 8, async (t, nrPages, testPage) => {
  const secondPageToFault = 4;

  hostDoRmw(t, testPage, 0, ch('A'));
  if (testPage !== secondPageToFault) hostDoRmw(t, secondPageToFault, 0, ch('A'));

  gmemSetPrivate(t.gmemFd, 0n, BigInt(nrPages) * PAGE);
  for (let i = 0; i < nrPages; i++) {
    const expected = i === testPage || i === secondPageToFault ? ch('A') : 0;
    await testPrivate(t, i, expected, ch('B'));
  }

  for (let i = 0; i < nrPages; i++) await testConvertToShared(t, i, ch('B'), ch('C'), ch('D'));
});

/**
 * A punch frees the page, not its state: a punched shared page is shared
 * and reads zero (the shared memory is reset, as private_mem_conversions_test
 * relies on after hole-punching), a punched private page stays private and
 * the guest gets a zeroed page.
 */
initSharedTest('truncate', async (t) => {
  hostDoRmw(t, 0, 0, ch('A'));
  kvmFallocate(t.gmemFd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0n, PAGE);
  hostDoRmw(t, 0, 0, ch('A'));

  await testConvertToPrivate(t, 0, ch('A'), ch('B'));

  kvmFallocate(t.gmemFd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0n, PAGE);
  await testPrivate(t, 0, 0, ch('A'));
});

/**
 * The states hold in every process that maps the guest_memfd: the child
 * maps the page (faults it in) while shared, and after the parent's
 * conversion its own accesses are SIGBUS too. The C test's two processes
 * hand over through a MAP_SHARED condition variable; here the steps run in
 * the same order one after the other.
 */
initSharedTest('forked_accesses', async (t) => {
  const child: HostProcess | undefined = forkHostProcess();
  if (!child) {
    SKIP('backend %s cannot fork a child process', kvmBackend().name);
    return;
  }
  const inconsequential = 0xdd;
  try {
    await testShared(t, 0, 0, 0xa, 0xb);

    // STATE_CHECK_SHARED: the child sees the guest's byte and writes its own.
    hostDoRmw(t, 0, 0xb, 0xc, child);

    await testConvertToPrivate(t, 0, 0xc, 0xd);

    // STATE_CHECK_PRIVATE: the conversion took the page from the child as well.
    TEST_EXPECT_SIGBUS(() => readByte(child, hvaOf(t, 0)));
    TEST_EXPECT_SIGBUS(() => writeByte(child, hvaOf(t, 0), inconsequential));
  } finally {
    child.exit();
  }
});

/** A conversion to private of [pgoff, pgoff+nrPages) must fail with EAGAIN and name `expectedErrorOffset`. */
function testConvertToPrivateFails(t: Conversions, pgoff: number, nrPages: number, expectedErrorOffset: bigint): void {
  let r;
  do {
    // Preset to anything but the expected value, so a missing write shows.
    r = __gmemSetPrivate(t.gmemFd, BigInt(pgoff) * PAGE, BigInt(nrPages) * PAGE, expectedErrorOffset + 1n);
  } while (r.ret === -1 && r.errno === EINTR);
  TEST_ASSERT(r.ret === -1 && r.errno === EAGAIN, `Wanted EAGAIN on page ${pgoff}, got ${r.errno} (${strerror(r.errno)}) (ret = ${r.ret})`);
  TEST_ASSERT_EQ(r.errorOffset, expectedErrorOffset);
}

multipageTest('elevated_refcount', 4, async (t, nrPages, testPage) => {
  pinPages(hvaOf(t, testPage), PAGE);

  for (let i = 0; i < nrPages; i++) await testShared(t, i, 0, ch('A'), ch('B'));

  // In bulk: any page with an unexpected refcount fails the whole range.
  testConvertToPrivateFails(t, 0, nrPages, BigInt(testPage) * PAGE);

  // Page by page: only the pinned page refuses.
  for (let i = 0; i < nrPages; i++) {
    if (i === testPage) testConvertToPrivateFails(t, i, 1, BigInt(testPage) * PAGE);
    else await testConvertToPrivate(t, i, ch('B'), ch('C'));
  }

  unpinPages();

  gmemSetPrivate(t.gmemFd, 0n, BigInt(nrPages) * PAGE);

  for (let i = 0; i < nrPages; i++) await testPrivate(t, i, i === testPage ? ch('B') : ch('C'), ch('D'));
});

// kvm_selftest_init() prints its banner once, in the process that runs the harness.
if (!isHarnessTestProcess()) kvmSelftestInit();
TEST_REQUIRE(kvmCheckCap(KVM_CAP_VM_TYPES) & (1 << KVM_X86_SW_PROTECTED_VM), 'KVM_CAP_VM_TYPES & BIT(KVM_X86_SW_PROTECTED_VM)');
TEST_REQUIRE(BigInt(kvmCheckCap(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES)) & KVM_MEMORY_ATTRIBUTE_PRIVATE,
  'kvm_check_cap(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) & KVM_MEMORY_ATTRIBUTE_PRIVATE');
await TEST_HARNESS_MAIN();
