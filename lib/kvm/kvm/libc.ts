/**
 * The C library calls the `kvm` backend makes, through koffi (prebuilt for
 * the platform, loaded from node_modules; no compiler at install time).
 *
 * Prototypes are fixed, never variadic: ioctl(2) is variadic in C, but on
 * x86-64 SysV an integer or pointer third argument is passed the same way
 * either way, and a fixed prototype spares koffi's per-call type parsing.
 * Pointers are BigInt; addresses go in as `uint64_t` so that a test's own
 * (possibly bogus) address reaches the kernel unchanged, as it would in C.
 */
import { createRequire } from 'node:module';

/** The part of koffi this backend uses. */
interface Koffi {
  load(path: string): KoffiLib;
  errno(): number;
  view(ptr: bigint, len: number): ArrayBuffer;
}
interface KoffiLib {
  func(name: string, ret: string, params: string[]): (...args: unknown[]) => unknown;
}

export interface Libc {
  /** Where koffi was loaded from (vCPU threads load the same file). */
  readonly koffiPath: string;
  /** errno of the last call on this thread. */
  errno(): number;
  open(path: string, flags: number, mode: number): number;
  close(fd: number): number;
  dup(fd: number): number;
  ioctlInt(fd: number, request: number, arg: bigint): number;
  ioctlPtr(fd: number, request: number, arg: Uint8Array): number;
  mmap(addr: bigint, length: bigint, prot: number, flags: number, fd: number, offset: bigint): bigint;
  munmap(addr: bigint, length: bigint): number;
  madvise(addr: bigint, length: bigint, advice: number): number;
  fstat(fd: number, buf: Uint8Array): number;
  read(fd: number, buf: Uint8Array, count: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
  pread(fd: number, buf: Uint8Array, count: number, offset: bigint): number;
  pwrite(fd: number, buf: Uint8Array, count: number, offset: bigint): number;
  lseek(fd: number, offset: bigint, whence: number): bigint;
  ftruncate(fd: number, length: bigint): number;
  fallocate(fd: number, mode: number, offset: bigint, length: bigint): number;
  memfdCreate(name: string, flags: number): number;
  /** process_vm_readv/writev on iovec arrays at raw addresses (liov, riov). */
  processVmReadv(pid: number, liov: bigint, liovcnt: number, riov: bigint, riovcnt: number): number;
  processVmWritev(pid: number, liov: bigint, liovcnt: number, riov: bigint, riovcnt: number): number;
  /** mbind(2) (syscall 237): nodemask as a buffer of unsigned longs, or null. */
  mbind(addr: bigint, len: bigint, mode: number, nodemask: Uint8Array | null, maxnode: bigint, flags: number): number;
  /** get_mempolicy(2) (syscall 239): *policy and *nmask land in the buffers given. */
  getMempolicy(policy: Uint8Array | null, nodemask: Uint8Array | null, maxnode: bigint, addr: bigint, flags: bigint): number;
  /** move_pages(2) (syscall 279) with nodes == NULL: status gets one int per page. */
  movePagesStatus(pid: number, count: number, pages: Uint8Array, status: Uint8Array, flags: number): number;
  getpid(): number;
  pthreadSelf(): bigint;
  pthreadKill(thread: bigint, sig: number): number;
  /** The bytes at `addr`, live (no copy). Touching them after munmap kills the process. */
  view(addr: bigint, length: number): Uint8Array;
}

let cached: Libc | string | undefined;

/** libc through koffi, or why it cannot be had (koffi not installed, or not loadable here). */
export function loadLibc(): Libc | string {
  if (cached !== undefined) return cached;
  let koffi: Koffi | undefined;
  let koffiPath = '';
  let why = '';
  // Beside the program (the build tree, an install with its node_modules), else where it runs from.
  for (const from of [import.meta.url, `${process.cwd()}/`]) {
    try {
      const req = createRequire(from);
      koffiPath = req.resolve('koffi');
      koffi = req(koffiPath) as Koffi;
      break;
    } catch (e) {
      why ||= e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e);
    }
  }
  if (!koffi) {
    cached = `the koffi package cannot be loaded (${why}); run npm ci`;
    return cached;
  }
  const lib = koffi.load('libc.so.6');
  const f = <T extends (...args: never[]) => unknown>(name: string, ret: string, params: string[]): T =>
    lib.func(name, ret, params) as unknown as T;
  const num = (v: unknown): number => Number(v);
  const ioctlInt = f<(fd: number, r: number, a: bigint) => number>('ioctl', 'int', ['int', 'unsigned long', 'uint64_t']);
  const ioctlPtr = f<(fd: number, r: number, a: Uint8Array) => number>('ioctl', 'int', ['int', 'unsigned long', 'void *']);
  const mmap = f<(a: bigint, l: bigint, p: number, fl: number, fd: number, o: bigint) => unknown>(
    'mmap', 'void *', ['uint64_t', 'size_t', 'int', 'int', 'int', 'int64_t']);
  const read = f<(fd: number, b: Uint8Array, n: number) => unknown>('read', 'intptr_t', ['int', 'void *', 'size_t']);
  const write = f<(fd: number, b: Uint8Array, n: number) => unknown>('write', 'intptr_t', ['int', 'void *', 'size_t']);
  const pread = f<(fd: number, b: Uint8Array, n: number, o: bigint) => unknown>('pread64', 'intptr_t', ['int', 'void *', 'size_t', 'int64_t']);
  const pwrite = f<(fd: number, b: Uint8Array, n: number, o: bigint) => unknown>('pwrite64', 'intptr_t', ['int', 'void *', 'size_t', 'int64_t']);
  const lseek = f<(fd: number, o: bigint, w: number) => unknown>('lseek64', 'int64_t', ['int', 'int64_t', 'int']);
  const pvr = f<(p: number, l: bigint, lc: number, r: bigint, rc: number, fl: number) => unknown>(
    'process_vm_readv', 'intptr_t', ['int', 'uint64_t', 'unsigned long', 'uint64_t', 'unsigned long', 'unsigned long']);
  const pvw = f<(p: number, l: bigint, lc: number, r: bigint, rc: number, fl: number) => unknown>(
    'process_vm_writev', 'intptr_t', ['int', 'uint64_t', 'unsigned long', 'uint64_t', 'unsigned long', 'unsigned long']);
  // syscall(2) is variadic; a fixed prototype per use passes integers and pointers as SysV does either way.
  const sysMbind = f<(nr: number, a: bigint, l: bigint, m: bigint, n: Uint8Array | null, mx: bigint, fl: bigint) => unknown>(
    'syscall', 'long', ['long', 'uint64_t', 'uint64_t', 'uint64_t', 'void *', 'uint64_t', 'uint64_t']);
  const sysGetMempolicy = f<(nr: number, p: Uint8Array | null, n: Uint8Array | null, mx: bigint, a: bigint, fl: bigint) => unknown>(
    'syscall', 'long', ['long', 'void *', 'void *', 'uint64_t', 'uint64_t', 'uint64_t']);
  const sysMovePages = f<(nr: number, pid: bigint, c: bigint, p: Uint8Array, n: null, s: Uint8Array, fl: bigint) => unknown>(
    'syscall', 'long', ['long', 'uint64_t', 'uint64_t', 'void *', 'void *', 'void *', 'uint64_t']);
  const ptr = (v: unknown): bigint => (typeof v === 'bigint' ? v : v === null ? 0n : BigInt(v as number));
  cached = {
    koffiPath,
    errno: () => koffi.errno(),
    open: f('open', 'int', ['const char *', 'int', 'uint32_t']),
    close: f('close', 'int', ['int']),
    dup: f('dup', 'int', ['int']),
    ioctlInt: (fd, r, a) => ioctlInt(fd, r >>> 0, BigInt.asUintN(64, a)),
    ioctlPtr: (fd, r, a) => ioctlPtr(fd, r >>> 0, a),
    mmap: (a, l, p, fl, fd, o) => ptr(mmap(BigInt.asUintN(64, a), BigInt.asUintN(64, l), p, fl, fd, BigInt.asIntN(64, o))),
    munmap: f('munmap', 'int', ['uint64_t', 'size_t']),
    madvise: f('madvise', 'int', ['uint64_t', 'size_t', 'int']),
    fstat: f('fstat', 'int', ['int', 'void *']),
    read: (fd, b, n) => num(read(fd, b, n)),
    write: (fd, b, n) => num(write(fd, b, n)),
    pread: (fd, b, n, o) => num(pread(fd, b, n, BigInt.asIntN(64, o))),
    pwrite: (fd, b, n, o) => num(pwrite(fd, b, n, BigInt.asIntN(64, o))),
    lseek: (fd, o, w) => BigInt(lseek(fd, BigInt.asIntN(64, o), w) as number | bigint),
    ftruncate: f('ftruncate64', 'int', ['int', 'int64_t']),
    fallocate: f('fallocate64', 'int', ['int', 'int', 'int64_t', 'int64_t']),
    memfdCreate: f('memfd_create', 'int', ['const char *', 'unsigned int']),
    processVmReadv: (p, l, lc, r, rc) => num(pvr(p, l, lc, r, rc, 0)),
    processVmWritev: (p, l, lc, r, rc) => num(pvw(p, l, lc, r, rc, 0)),
    mbind: (a, l, m, n, mx, fl) => num(sysMbind(237, BigInt.asUintN(64, a), BigInt.asUintN(64, l), BigInt(m >>> 0), n, BigInt.asUintN(64, mx), BigInt(fl >>> 0))),
    getMempolicy: (p, n, mx, a, fl) => num(sysGetMempolicy(239, p, n, BigInt.asUintN(64, mx), BigInt.asUintN(64, a), BigInt.asUintN(64, fl))),
    movePagesStatus: (pid, c, p, st, fl) => num(sysMovePages(279, BigInt(pid), BigInt(c), p, null, st, BigInt(fl >>> 0))),
    getpid: f('getpid', 'int', []),
    pthreadSelf: () => BigInt(f<() => number | bigint>('pthread_self', 'uint64_t', [])()),
    pthreadKill: f('pthread_kill', 'int', ['uint64_t', 'int']),
    view: (addr, length) => new Uint8Array(koffi.view(addr, length)),
  };
  return cached;
}
