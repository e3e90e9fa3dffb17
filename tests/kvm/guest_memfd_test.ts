/**
 * guest_memfd_test: the guest_memfd file itself (KVM_CREATE_GUEST_MEMFD
 * flags and sizes, read/write, mmap and its faults, fstat, fallocate and
 * PUNCH_HOLE), for every VM type KVM_CAP_VM_TYPES offers, then a guest that
 * faults on an mmap-able guest_memfd (served from the gmem itself).
 *
 * Newest upstream form: the flags accepted are exactly
 * vm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS), so the same program passes on a
 * 6.12 kernel (no flags, no guest subtest) and on 6.18 (MMAP, INIT_SHARED).
 * Like the C program it prints nothing but the seed line and exits 0.
 *
 * 6.19's NUMA subtests (mbind, numa_allocation) return at once unless the
 * host has several NUMA nodes (KSFT_NUMA_NODES=2 gives the model's host
 * two). They have no capability to test for: on a kernel before 6.19 with
 * several nodes, numa_allocation fails, as guest_memfd then ignores the
 * policy (no vm_ops->set_policy); run them against 6.19 or later.
 */
import { MAP_FAILED } from '../../lib/kvm/backend.js';
import { EINVAL } from '../../lib/kvm/errno.js';
import {
  FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_CAP_GUEST_MEMFD,
  KVM_CAP_GUEST_MEMFD_FLAGS, KVM_CAP_VM_TYPES, KVM_MEM_GUEST_MEMFD, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_NONE,
  PROT_READ, PROT_WRITE, SZ_2M, UCALL_DONE,
} from '../../lib/kvm/uapi.js';
import type { GuestBuilder } from '../../lib/guest/builder.js';
import {
  TEST_ASSERT, TEST_ASSERT_EQ, TEST_EXPECT_SIGBUS, TEST_REQUIRE, VM_SHAPE_DEFAULT, VM_TYPE_DEFAULT, __vmCreateGuestMemfd,
  __vmCreateShapeWithOneVcpu, close, fallocate, firstMismatch, fstat, getUcall, hostFill, hostRead, kvmCheckCap,
  kvmHasCap, kvmMmap, kvmMunmap, kvmSelftestMain, kvmVmFree, mmap, pread, pwrite, read, vcpuArgsSet, vcpuRun,
  vmCheckCap, vmCreateBarebonesType, vmCreateGuestMemfd, vmSetUserMemoryRegion2, write, getErrno, kvmMadvise, madvise,
  MADV_COLLAPSE, MADV_DONTNEED, MADV_HUGEPAGE, MAP_FIXED, MPOL_BIND, MPOL_DEFAULT, MPOL_F_ADDR, MPOL_INTERLEAVE, isMultiNumaNodeSystem,
  kvmFallocate, kvmGetMempolicy, kvmMbind, kvmMovePages, mbind, type KvmVm,
} from '../../lib/kvm_util/index.js';

const pageSize = PAGE_SIZE;
const SZ_4G = 1n << 32n;

/** READ_ONCE over [off, off+len) of a mapping, every byte TEST_ASSERT_EQ'd against val. */
function assertMemEq(mem: bigint, off: number, len: number, val: number): void {
  if (len === 0) return;
  const bytes = hostRead(mem + BigInt(off), len);
  const i = firstMismatch(bytes, val);
  if (i >= 0) TEST_ASSERT_EQ(bytes[i], val);
}

function testFileReadWrite(fd: number): void {
  const buf = new Uint8Array(64);
  TEST_ASSERT(read(fd, buf).ret < 0, 'read on a guest_mem fd should fail');
  TEST_ASSERT(write(fd, buf).ret < 0, 'write on a guest_mem fd should fail');
  TEST_ASSERT(pread(fd, buf, 0).ret < 0, 'pread on a guest_mem fd should fail');
  TEST_ASSERT(pwrite(fd, buf, 0).ret < 0, 'pwrite on a guest_mem fd should fail');
}

function testMmapCow(fd: number, size: number): void {
  const mem = mmap(0n, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  TEST_ASSERT(mem.addr === MAP_FAILED, 'Copy-on-write not allowed by guest_memfd.');
}

function testMmapSupported(fd: number, totalSize: number): void {
  const val = 0xaa;
  const mem = kvmMmap(totalSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd);

  hostFill(mem, totalSize, val);
  assertMemEq(mem, 0, totalSize, val);

  const ret = fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, pageSize).ret;
  TEST_ASSERT(!ret, 'fallocate the first page should succeed.');

  // A punched page of an INIT_SHARED mapping reads back zeros; the others keep their data.
  assertMemEq(mem, 0, pageSize, 0x00);
  assertMemEq(mem, pageSize, totalSize - pageSize, val);

  hostFill(mem, pageSize, val);
  assertMemEq(mem, 0, totalSize, val);

  kvmMunmap(mem, totalSize);
}

/**
 * mbind() through a guest_memfd mapping and get_mempolicy(MPOL_F_ADDR)
 * back (6.19): INTERLEAVE and BIND on parts, DEFAULT over all, an unknown
 * mode refused with EINVAL. Only on a host with several NUMA nodes.
 */
function testMbind(fd: number, totalSize: number): void {
  const nodemask0 = 1n; // nid 0
  const maxnode = 64n; // BITS_PER_TYPE(nodemask)

  if (!isMultiNumaNodeSystem()) return;

  const mem = kvmMmap(totalSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd);

  kvmMbind(mem, pageSize * 2, MPOL_INTERLEAVE, nodemask0, maxnode, 0);
  let r = kvmGetMempolicy(maxnode, mem, MPOL_F_ADDR);
  TEST_ASSERT(r.policy === MPOL_INTERLEAVE && r.nodemask === nodemask0,
    `Wanted MPOL_INTERLEAVE (${MPOL_INTERLEAVE}) and nodemask 0x${nodemask0.toString(16)}, got ${r.policy} and 0x${r.nodemask.toString(16)}`);

  kvmMbind(mem + BigInt(pageSize * 2), pageSize * 2, MPOL_BIND, nodemask0, maxnode, 0);
  r = kvmGetMempolicy(maxnode, mem + BigInt(pageSize * 2), MPOL_F_ADDR);
  TEST_ASSERT(r.policy === MPOL_BIND && r.nodemask === nodemask0,
    `Wanted MPOL_BIND (${MPOL_BIND}) and nodemask 0x${nodemask0.toString(16)}, got ${r.policy} and 0x${r.nodemask.toString(16)}`);

  kvmMbind(mem, totalSize, MPOL_DEFAULT, null, 0, 0);
  r = kvmGetMempolicy(maxnode, mem, MPOL_F_ADDR);
  TEST_ASSERT(r.policy === MPOL_DEFAULT && !r.nodemask,
    `Wanted MPOL_DEFAULT (${MPOL_DEFAULT}) and nodemask 0x0, got ${r.policy} and 0x${r.nodemask.toString(16)}`);

  const bad = mbind(mem, pageSize, 999, nodemask0, maxnode, 0);
  TEST_ASSERT(bad.ret === -1 && bad.errno === EINVAL, 'mbind with invalid policy should fail with EINVAL');

  kvmMunmap(mem, totalSize);
}

/**
 * Folios follow the guest_memfd's policy (6.19): a policy set after a page
 * exists moves nothing, but pages allocated afterwards land on the bound
 * node, and after a punch they follow the new binding.
 */
function testNumaAllocation(fd: number, totalSize: number): void {
  const node0Mask = 1n;
  const node1Mask = 2n;
  const maxnode = 8n;

  if (!isMultiNumaNodeSystem()) return;

  const mem = kvmMmap(totalSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
  const pages = [0, 1, 2, 3].map((i) => mem + BigInt(pageSize * i));

  // A policy set after allocation.
  hostFill(mem, pageSize, 0xaa);
  kvmMbind(pages[0]!, pageSize, MPOL_BIND, node0Mask, maxnode, 0);
  kvmFallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, pageSize);

  // Policies set before allocation.
  kvmMbind(pages[0]!, pageSize * 2, MPOL_BIND, node1Mask, maxnode, 0);
  kvmMbind(pages[2]!, pageSize * 2, MPOL_BIND, node0Mask, maxnode, 0);
  hostFill(mem, totalSize, 0xaa);

  let status = kvmMovePages(0, pages, null, 0);
  for (const [i, want] of [1, 1, 0, 0].entries()) {
    TEST_ASSERT(status[i] === want, `Expected page ${i} on node ${want}, got it on node ${status[i]}`);
  }

  kvmFallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, totalSize);

  // New bindings, then reallocation.
  kvmMbind(pages[0]!, pageSize * 2, MPOL_BIND, node0Mask, maxnode, 0);
  kvmMbind(pages[2]!, pageSize * 2, MPOL_BIND, node1Mask, maxnode, 0);
  hostFill(mem, totalSize, 0xaa);

  status = kvmMovePages(0, pages, null, 0);
  for (const [i, want] of [0, 0, 1, 1].entries()) {
    TEST_ASSERT(status[i] === want, `Expected page ${i} on node ${want}, got it on node ${status[i]}`);
  }

  kvmMunmap(mem, totalSize);
}

/** get_trans_hugepagesz(): the PMD size on x86-64. */
const getTransHugepagesz = (): number => SZ_2M;

function testCollapse(fd: number, pmdSize: number): void {
  // guest_memfd folios could only be collapsed with both the HVA and the file
  // offset PMD-aligned: reserve address space, then map offset 0 MAP_FIXED
  // at a PMD-aligned address inside it.
  const reservedAddr = kvmMmap(pmdSize * 2, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  const alignedAddr = (reservedAddr + BigInt(pmdSize) - 1n) & ~(BigInt(pmdSize) - 1n);

  const mem = mmap(alignedAddr, pmdSize, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED, fd, 0).addr;
  TEST_ASSERT(mem % BigInt(pmdSize) === 0n, 'Userspace address must be aligned to PMD size.');

  // Populate the page tables with reads, so that no page is dirtied.
  hostRead(mem, pmdSize);

  // Asking for huge pages is fine...
  kvmMadvise(mem, pmdSize, MADV_HUGEPAGE);

  // ...collapsing is not: it could map beyond the shared ranges into host page tables.
  TEST_ASSERT_EQ(madvise(mem, pmdSize, MADV_COLLAPSE).ret, -1);
  const errno = getErrno();
  TEST_ASSERT_EQ(errno, EINVAL);

  // Zapping and re-faulting works, and does not produce a huge folio.
  kvmMadvise(mem, pmdSize, MADV_DONTNEED);
  hostRead(mem, 1);

  kvmMunmap(reservedAddr, pmdSize * 2);
}

function testFaultSigbus(fd: number, accessibleSize: number, mapSize: number): void {
  const val = 0xaa;
  const mem = kvmMmap(mapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd);

  TEST_EXPECT_SIGBUS(() => hostFill(mem, mapSize, val));
  TEST_EXPECT_SIGBUS(() => hostRead(mem + BigInt(accessibleSize), 1));

  assertMemEq(mem, 0, accessibleSize, val);

  kvmMunmap(mem, mapSize);
}

function testFaultOverflow(fd: number, totalSize: number): void {
  testFaultSigbus(fd, totalSize, totalSize * 4);
}

function testFaultPrivate(fd: number, totalSize: number): void {
  testFaultSigbus(fd, 0, totalSize);
}

function testMmapNotSupported(fd: number, totalSize: number): void {
  let mem = mmap(0n, pageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0).addr;
  TEST_ASSERT_EQ(mem, MAP_FAILED);

  mem = mmap(0n, totalSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0).addr;
  TEST_ASSERT_EQ(mem, MAP_FAILED);
}

function testFileSize(fd: number, totalSize: number): void {
  const r = fstat(fd);
  TEST_ASSERT(!r.ret, 'fstat should succeed');
  TEST_ASSERT_EQ(r.stat!.size, BigInt(totalSize));
  TEST_ASSERT_EQ(r.stat!.blksize, pageSize);
}

function testFallocate(fd: number, totalSize: number): void {
  const KEEP = FALLOC_FL_KEEP_SIZE;
  const PUNCH = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE;
  let ret: number;

  ret = fallocate(fd, KEEP, 0, totalSize).ret;
  TEST_ASSERT(!ret, 'fallocate with aligned offset and size should succeed');

  ret = fallocate(fd, PUNCH, pageSize - 1, pageSize).ret;
  TEST_ASSERT(ret, 'fallocate with unaligned offset should fail');

  ret = fallocate(fd, KEEP, totalSize, pageSize).ret;
  TEST_ASSERT(ret, 'fallocate beginning at total_size should fail');

  ret = fallocate(fd, KEEP, totalSize + pageSize, pageSize).ret;
  TEST_ASSERT(ret, 'fallocate beginning after total_size should fail');

  ret = fallocate(fd, PUNCH, totalSize, pageSize).ret;
  TEST_ASSERT(!ret, 'fallocate(PUNCH_HOLE) at total_size should succeed');

  ret = fallocate(fd, PUNCH, totalSize + pageSize, pageSize).ret;
  TEST_ASSERT(!ret, 'fallocate(PUNCH_HOLE) after total_size should succeed');

  ret = fallocate(fd, PUNCH, pageSize, pageSize - 1).ret;
  TEST_ASSERT(ret, 'fallocate with unaligned size should fail');

  ret = fallocate(fd, PUNCH, pageSize, pageSize).ret;
  TEST_ASSERT(!ret, 'fallocate(PUNCH_HOLE) with aligned offset and size should succeed');

  ret = fallocate(fd, KEEP, pageSize, pageSize).ret;
  TEST_ASSERT(!ret, 'fallocate to restore punched hole should succeed');
}

function testInvalidPunchHole(fd: number, _totalSize: number): void {
  const cases: readonly (readonly [number, number])[] = [
    [0, 1], [0, pageSize - 1], [0, pageSize + 1],
    [1, 1], [1, pageSize - 1], [1, pageSize], [1, pageSize + 1],
    [pageSize, 1], [pageSize, pageSize - 1], [pageSize, pageSize + 1],
  ];
  for (const [offset, len] of cases) {
    const r = fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, offset, len);
    TEST_ASSERT(r.ret === -1 && r.errno === EINVAL,
      `PUNCH_HOLE with !PAGE_SIZE offset (${offset.toString(16)}) and/or length (${len.toString(16)}) should fail`);
  }
}

function testCreateGuestMemfdInvalidSizes(vm: KvmVm, flags: bigint): void {
  for (let size = 1; size < pageSize; size++) {
    const fd = __vmCreateGuestMemfd(vm, size, flags);
    TEST_ASSERT(fd.ret < 0 && fd.errno === EINVAL,
      `guest_memfd() with non-page-aligned page size '0x${size.toString(16)}' should fail with EINVAL`);
  }
}

function testCreateGuestMemfdMultiple(vm: KvmVm): void {
  const fd1 = __vmCreateGuestMemfd(vm, pageSize, 0).ret;
  TEST_ASSERT(fd1 !== -1, 'memfd creation should succeed');

  let st1 = fstat(fd1);
  TEST_ASSERT(st1.ret !== -1, 'memfd fstat should succeed');
  TEST_ASSERT(st1.stat!.size === BigInt(pageSize), 'memfd st_size should match requested size');

  const fd2 = __vmCreateGuestMemfd(vm, pageSize * 2, 0).ret;
  TEST_ASSERT(fd2 !== -1, 'memfd creation should succeed');

  const st2 = fstat(fd2);
  TEST_ASSERT(st2.ret !== -1, 'memfd fstat should succeed');
  TEST_ASSERT(st2.stat!.size === BigInt(pageSize * 2), 'second memfd st_size should match requested size');

  st1 = fstat(fd1);
  TEST_ASSERT(st1.ret !== -1, 'memfd fstat should succeed');
  TEST_ASSERT(st1.stat!.size === BigInt(pageSize), 'first memfd st_size should still match requested size');
  TEST_ASSERT(st1.stat!.ino !== st2.stat!.ino, 'different memfd should have different inode numbers');

  close(fd2);
  close(fd1);
}

function testGuestMemfdFlags(vm: KvmVm): void {
  const validFlags = BigInt(vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS));
  for (let bit = 0n; bit < 64n; bit++) {
    const flag = 1n << bit;
    const fd = __vmCreateGuestMemfd(vm, pageSize, flag);
    if (flag & validFlags) {
      TEST_ASSERT(fd.ret >= 0, `guest_memfd() with flag '0x${flag.toString(16)}' should succeed`);
      close(fd.ret);
    } else {
      TEST_ASSERT(fd.ret < 0 && fd.errno === EINVAL, `guest_memfd() with flag '0x${flag.toString(16)}' should fail with EINVAL`);
    }
  }
}

type GmemTest = (fd: number, size: number) => void;

/** gmem_test(): a fresh guest_memfd (4 pages unless told) per subtest. */
function gmemTest(test: GmemTest, vm: KvmVm, flags: bigint, size = pageSize * 4): void {
  const fd = vmCreateGuestMemfd(vm, size, flags);
  test(fd, size);
  close(fd);
}

function __testGuestMemfd(vm: KvmVm, flags: bigint): void {
  testCreateGuestMemfdMultiple(vm);
  testCreateGuestMemfdInvalidSizes(vm, flags);

  gmemTest(testFileReadWrite, vm, flags);

  if (flags & GUEST_MEMFD_FLAG_MMAP) {
    if (flags & GUEST_MEMFD_FLAG_INIT_SHARED) {
      gmemTest(testMmapSupported, vm, flags);
      gmemTest(testFaultOverflow, vm, flags);
      gmemTest(testNumaAllocation, vm, flags);
      gmemTest(testCollapse, vm, flags, getTransHugepagesz());
    } else {
      gmemTest(testFaultPrivate, vm, flags);
    }
    gmemTest(testMmapCow, vm, flags);
    gmemTest(testMbind, vm, flags);
  } else {
    gmemTest(testMmapNotSupported, vm, flags);
  }

  gmemTest(testFileSize, vm, flags);
  gmemTest(testFallocate, vm, flags);
  gmemTest(testInvalidPunchHole, vm, flags);
}

function testGuestMemfd(vmType: number): void {
  const vm = vmCreateBarebonesType(vmType);

  testGuestMemfdFlags(vm);

  __testGuestMemfd(vm, 0n);

  const flags = BigInt(vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS));
  if (flags & GUEST_MEMFD_FLAG_MMAP) __testGuestMemfd(vm, GUEST_MEMFD_FLAG_MMAP);

  // MMAP is always offered where INIT_SHARED is.
  if (flags & GUEST_MEMFD_FLAG_INIT_SHARED) __testGuestMemfd(vm, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);

  kvmVmFree(vm);
}

/** The guest checks what the host wrote through the gmem mapping, then overwrites it. */
const guestCode = (g: GuestBuilder, mem: bigint, size: bigint): void => {
  g.memcmp(mem, size, 0xaa, { expr: 'mem[i] == 0xaa' });
  g.memset(mem, size, 0xff);
  g.done();
};

async function testGuestMemfdGuest(): Promise<void> {
  // Above 4 GiB: clear of slot 0 and of the low MMIO holes.
  const gpa = SZ_4G;
  const slot = 1;

  if (!kvmCheckCap(KVM_CAP_GUEST_MEMFD_FLAGS)) return;

  const { vm, vcpu } = __vmCreateShapeWithOneVcpu(VM_SHAPE_DEFAULT, 1, guestCode);

  TEST_ASSERT(BigInt(vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS)) & GUEST_MEMFD_FLAG_MMAP,
    `Default VM type should support MMAP, supported flags = 0x${vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS).toString(16)}`);
  TEST_ASSERT(BigInt(vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS)) & GUEST_MEMFD_FLAG_INIT_SHARED,
    `Default VM type should support INIT_SHARED, supported flags = 0x${vmCheckCap(vm, KVM_CAP_GUEST_MEMFD_FLAGS).toString(16)}`);

  const size = vm.pageSize;
  const fd = vmCreateGuestMemfd(vm, size, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  // userspace_addr = 0: every fault of this slot is served from the guest_memfd.
  vmSetUserMemoryRegion2(vm, slot, KVM_MEM_GUEST_MEMFD, gpa, size, 0, fd, 0);

  let mem = kvmMmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
  hostFill(mem, size, 0xaa);
  kvmMunmap(mem, size);

  vcpuArgsSet(vcpu, gpa, size);
  await vcpuRun(vcpu);

  TEST_ASSERT_EQ(getUcall(vcpu).cmd, UCALL_DONE);

  mem = kvmMmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
  assertMemEq(mem, 0, size, 0xff);

  close(fd);
  kvmVmFree(vm);
}

kvmSelftestMain(async () => {
  TEST_REQUIRE(kvmHasCap(KVM_CAP_GUEST_MEMFD), 'kvm_has_cap(KVM_CAP_GUEST_MEMFD)');

  // Architectures without KVM_CAP_VM_TYPES still offer guest_memfd on the default type.
  let vmTypes = kvmCheckCap(KVM_CAP_VM_TYPES);
  if (!vmTypes) vmTypes = 1 << VM_TYPE_DEFAULT;

  for (let t = 0; t < 32; t++) if (vmTypes & (1 << t)) testGuestMemfd(t);

  await testGuestMemfdGuest();
});
