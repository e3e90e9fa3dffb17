/**
 * The file and memory syscalls selftests make on fds the backend owns
 * (guest_memfd, VM fds, memfds) and on host memory it maps. Raw forms return
 * what the kernel would and set errno like libc; the `kvm*` forms assert,
 * as tools/testing/selftests/kvm/include/kvm_syscalls.h does.
 */
import { HostFault, MAP_FAILED, type HostProcess, type MmapResult, type StatResult, type SysResult } from '../kvm/backend.js';
import { ENOSYS, strerror } from '../kvm/errno.js';
import { PROT_READ, PROT_WRITE, MAP_ANONYMOUS, MAP_PRIVATE } from '../kvm/uapi.js';
import { argText, failureSite, testAssertAt, testAssertFail } from './assert.js';
import { noteResult, setErrno } from './errno_state.js';
import { kvmBackend } from './kvm_dev.js';
import { type Hva, type HvaArg, hva as asHva } from './types.js';

const b = kvmBackend;

/** close(2), raw. */
export const close = (fd: number): SysResult => noteResult(b().close(fd));
/** dup(2), raw. */
export const dup = (fd: number): SysResult => noteResult(b().dup(fd));
/** fstat(2), raw: `stat` is set on success. */
export const fstat = (fd: number): StatResult => noteResult(b().fstat(fd));
/** read(2), raw. */
export const read = (fd: number, buf: Uint8Array): SysResult => noteResult(b().read(fd, buf));
/** write(2), raw. */
export const write = (fd: number, buf: Uint8Array): SysResult => noteResult(b().write(fd, buf));
/** pread(2), raw. */
export const pread = (fd: number, buf: Uint8Array, off: bigint | number): SysResult => noteResult(b().pread(fd, buf, BigInt(off)));
/** pwrite(2), raw. */
export const pwrite = (fd: number, buf: Uint8Array, off: bigint | number): SysResult => noteResult(b().pwrite(fd, buf, BigInt(off)));
/** fallocate(2), raw (FALLOC_FL_* modes). */
export const fallocate = (fd: number, mode: number, off: bigint | number, len: bigint | number): SysResult =>
  noteResult(b().fallocate(fd, mode, BigInt(off), BigInt(len)));
/** memfd_create(2), raw: a plain shmem file (a "not a guest_memfd" fd). */
export const memfdCreate = (name: string, flags = 0): SysResult => noteResult(b().memfdCreate(name, flags));

/** mmap(2)'s result in the test process: `addr` is MAP_FAILED on failure. */
export interface HostMapping {
  readonly addr: Hva;
  readonly errno: number;
}

/** mmap(2), raw: `addr` is MAP_FAILED on failure, with errno set. */
export function mmap(addr: HvaArg, length: bigint | number, prot: number, flags: number, fd: number, offset: bigint | number = 0n): HostMapping {
  const r: MmapResult = b().mmap(BigInt(addr), BigInt(length), prot, flags, fd, BigInt(offset));
  if (r.addr === MAP_FAILED) setErrno(r.errno);
  return { addr: asHva(r.addr), errno: r.errno };
}
/** munmap(2), raw. */
export const munmap = (addr: HvaArg, length: bigint | number): SysResult => noteResult(b().munmap(BigInt(addr), BigInt(length)));

/** kvm_mmap(size, prot, flags, fd): mmap at offset 0, asserted; the mapping's HVA. */
export function kvmMmap(size: bigint | number, prot: number, flags: number, fd: number): Hva {
  const r = mmap(0n, size, prot, flags, fd, 0n);
  testAssertAt(r.addr !== MAP_FAILED, 'mem != MAP_FAILED', `mmap() failed, errno = ${r.errno} (${strerror(r.errno)})`, ['lib/kvm_util/syscalls.ts']);
  return asHva(r.addr);
}

/** __kvm_mmap(size, prot, flags, fd, offset): asserted mmap at an offset. */
export function kvmMmapAt(size: bigint | number, prot: number, flags: number, fd: number, offset: bigint | number): Hva {
  const r = mmap(0n, size, prot, flags, fd, offset);
  testAssertAt(r.addr !== MAP_FAILED, 'mem != MAP_FAILED', `mmap() failed, errno = ${r.errno} (${strerror(r.errno)})`, ['lib/kvm_util/syscalls.ts']);
  return asHva(r.addr);
}

/** kvm_dup(fd): asserted dup(). */
export function kvmDup(fd: number): number {
  const r = dup(fd);
  testAssertAt(r.ret >= 0, 'fd >= 0', `dup() failed, errno = ${r.errno} (${strerror(r.errno)})`, ['lib/kvm_util/syscalls.ts']);
  return r.ret;
}

/** kvm_memfd_alloc(size, hugepages=false): a memfd of `size` bytes (VM_MEM_SRC_SHMEM). */
export function kvmMemfdAlloc(size: bigint | number): number {
  const fd = memfdCreate('kvm_selftest', 0);
  testAssertAt(fd.ret >= 0, 'fd >= 0', `memfd_create() failed, errno = ${fd.errno} (${strerror(fd.errno)})`, ['lib/kvm_util/syscalls.ts']);
  const r = noteResult(b().ftruncate(fd.ret, BigInt(size)));
  testAssertAt(r.ret === 0, '!ret', `ftruncate() failed, errno = ${r.errno} (${strerror(r.errno)})`, ['lib/kvm_util/syscalls.ts']);
  return fd.ret;
}

/** An anonymous private mapping (VM_MEM_SRC_ANONYMOUS). */
export const kvmMmapAnonymous = (size: bigint | number): Hva => kvmMmap(size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);

/* mmap(2)/madvise(2) values from the uapi headers (asm-generic/mman-common.h). */
/** mmap(2) MAP_FIXED. */
export const MAP_FIXED = 0x10;
/** madvise(2) MADV_DONTNEED: drop the pages; the next touch faults them in again. */
export const MADV_DONTNEED = 4;
/** madvise(2) MADV_HUGEPAGE. */
export const MADV_HUGEPAGE = 14;
/** madvise(2) MADV_COLLAPSE: EINVAL on guest_memfd, which has no huge pages to collapse into. */
export const MADV_COLLAPSE = 25;

/** madvise(2), raw; -1/ENOSYS where the backend does not model it. */
export function madvise(addr: HvaArg, length: bigint | number, advice: number): SysResult {
  const be = b();
  return noteResult(be.madvise ? be.madvise(BigInt(addr), BigInt(length), advice) : { ret: -1, errno: ENOSYS });
}

/** kvm_madvise(): asserted. */
export function kvmMadvise(addr: HvaArg, length: bigint | number, advice: number): void {
  const r = madvise(addr, length, advice);
  testAssertAt(r.ret === 0, '!ret', `madvise() failed, errno = ${r.errno} (${strerror(r.errno)})`, ['lib/kvm_util/syscalls.ts']);
}

/** kvm_munmap(): munmap(2), asserted. */
export function kvmMunmap(addr: HvaArg, size: bigint | number): void {
  const r = munmap(addr, size);
  testAssertAt(r.ret === 0, '!ret', `munmap() failed, errno = ${r.errno} (${strerror(r.errno)})`, ['lib/kvm_util/syscalls.ts']);
}

/** kvm_fallocate(): fallocate(2), asserted. */
export function kvmFallocate(fd: number, mode: number, off: bigint | number, len: bigint | number): void {
  const r = fallocate(fd, mode, off, len);
  testAssertAt(r.ret === 0, '!ret', `fallocate() failed, errno = ${r.errno} (${strerror(r.errno)})`, ['lib/kvm_util/syscalls.ts']);
}

/** kvm_close(): close(2), asserted. */
export function kvmClose(fd: number): void {
  const r = close(fd);
  testAssertAt(r.ret === 0, '!ret', `close() failed, errno = ${r.errno} (${strerror(r.errno)})`, ['lib/kvm_util/syscalls.ts']);
}

/**
 * Load `length` bytes of host memory at `addr`; throws HostFault where a
 * real access takes SIGBUS or SIGSEGV (a private guest_memfd page, nothing
 * mapped).
 */
export const hostRead = (addr: HvaArg, length: number): Uint8Array => b().hostRead(BigInt(addr), length);
/** Store `data` to host memory at `addr` (HostFault as for hostRead). */
export const hostWrite = (addr: HvaArg, data: Uint8Array): void => b().hostWrite(BigInt(addr), data);
/**
 * memset() on host memory (HostFault as for hostRead).
 *
 * @example
 * ```ts
 * const { vm, gpa } = cocoVmCreate('sw_protected', undefined);
 * const hva = addrGpa2Hva(vm, gpa);
 * hostFill(hva, 4096, 0xaa);
 * TEST_ASSERT_EQ(hostRead(hva, 1)[0]!, 0xaa);
 * ```
 */
export const hostFill = (addr: HvaArg, length: number, value: number): void => b().hostFill(BigInt(addr), length, value);
/**
 * Offset of the first byte of [addr, addr+length) that is not `value`, or
 * -1, without copying the range (Backend.hostCompare; HostFault as for
 * hostRead).
 */
export const hostCompare = (addr: HvaArg, length: number, value: number): number => b().hostCompare(BigInt(addr), length, value);

/**
 * fork() for a test that checks memory from a second process: the child's
 * view of memory, or undefined where the backend cannot fork one (the
 * caller skips, naming the backend).
 */
export function forkHostProcess(): HostProcess | undefined {
  return b().forkHost?.();
}

/**
 * TEST_EXPECT_SIGBUS(action): `action` must raise SIGBUS; otherwise
 * `'<action>' should have triggered SIGBUS`. Any other fault propagates.
 */
export function TEST_EXPECT_SIGBUS(action: () => unknown): void {
  try {
    action();
  } catch (e) {
    if (e instanceof HostFault && e.signal === 'SIGBUS') return;
    throw e;
  }
  const site = failureSite(['lib/kvm_util/syscalls.ts']);
  const text = argText(site, 'TEST_EXPECT_SIGBUS', 0, 'action').replace(/^\(\)\s*=>\s*/, '');
  testAssertFail(site, 'Failed', `'${text}' should have triggered SIGBUS`);
}
