/**
 * Host reads and writes of memory the test mapped (guest memory through a
 * memslot's userspace_addr, a guest_memfd mapping), without ever touching
 * it from JavaScript: a load from a private guest_memfd page or past a
 * file's end is SIGBUS, from an unmapped address SIGSEGV, and either would
 * kill the process. process_vm_readv(2)/process_vm_writev(2) on our own pid
 * walk the same page tables through the kernel and return a short count or
 * EFAULT where a plain access would fault (mm/process_vm_access.c pins the
 * pages with the same fault handlers a user access takes); which signal
 * that access would have raised is read off /proc/self/maps: no mapping is
 * SEGV_MAPERR, a mapping without the permission SEGV_ACCERR, else the
 * mapping's fault handler refused the page, SIGBUS (BUS_ADRERR).
 */
import { patternBuffer } from '../pattern_bytes.js';
import { readFileSync } from 'node:fs';
import { HostFault, type HostSignal } from '../backend.js';
import { EFAULT, strerror } from '../errno.js';
import type { Libc } from './libc.js';

const PAGE = 4096n;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;
const PROT_RW = 3;
/** The scratch buffer grows to this much and then copies in chunks. */
const MAX_SCRATCH = 64 << 20;

interface Mapping {
  readonly start: bigint;
  readonly end: bigint;
  readonly perms: string;
}

function mappings(): Mapping[] {
  return readFileSync('/proc/self/maps', 'latin1').split('\n').filter(Boolean).map((l) => {
    const [range = '', perms = ''] = l.split(' ');
    const [a = '0', b = '0'] = range.split('-');
    return { start: BigInt(`0x${a}`), end: BigInt(`0x${b}`), perms };
  });
}

/** The signal a user access of `addr` takes, given that the kernel refused it. */
export function classifyFault(addr: bigint, write: boolean): { signal: HostSignal; code: string } {
  const m = mappings().find((x) => addr >= x.start && addr < x.end);
  if (!m) return { signal: 'SIGSEGV', code: 'SEGV_MAPERR' };
  if (!m.perms.includes(write ? 'w' : 'r')) return { signal: 'SIGSEGV', code: 'SEGV_ACCERR' };
  return { signal: 'SIGBUS', code: 'BUS_ADRERR' };
}

/**
 * Why process_vm_readv() on our own pid cannot serve host accesses here,
 * or undefined: a kernel built without CONFIG_CROSS_MEMORY_ATTACH answers
 * ENOSYS, a seccomp filter EPERM.
 */
export function hostMemoryUnusable(libc: Libc): string | undefined {
  const page = libc.mmap(0n, PAGE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  try {
    const v = libc.view(page, 64);
    const dv = new DataView(v.buffer, v.byteOffset, 64);
    dv.setBigUint64(0, page + 32n, true);
    dv.setBigUint64(8, 8n, true);
    dv.setBigUint64(16, page + 48n, true);
    dv.setBigUint64(24, 8n, true);
    if (libc.processVmReadv(libc.getpid(), page, 1, page + 16n, 1) === 8) return undefined;
    return `process_vm_readv() on our own pid fails with ${strerror(libc.errno())} (CONFIG_CROSS_MEMORY_ATTACH?)`;
  } finally {
    libc.munmap(page, PAGE);
  }
}

export class HostMemory {
  private readonly iov: bigint;
  private readonly iovView: DataView;
  private scratch = 0n;
  private scratchLen = 0;
  private scratchView: Uint8Array = new Uint8Array(0);
  private readonly pid: number;

  constructor(private readonly libc: Libc) {
    this.iov = libc.mmap(0n, PAGE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
    const v = libc.view(this.iov, 32);
    this.iovView = new DataView(v.buffer, v.byteOffset, 32);
    this.pid = libc.getpid();
  }

  private ensureScratch(len: number): void {
    const want = Math.min(Math.max(len, 4096), MAX_SCRATCH);
    if (this.scratchLen >= want) return;
    if (this.scratchLen) this.libc.munmap(this.scratch, BigInt(this.scratchLen));
    const size = Number((BigInt(want) + PAGE - 1n) & ~(PAGE - 1n));
    this.scratch = this.libc.mmap(0n, BigInt(size), PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
    this.scratchLen = size;
    this.scratchView = this.libc.view(this.scratch, size);
  }

  /**
   * One process_vm_readv/writev of `len` bytes between the scratch buffer
   * and `hva`; returns the bytes moved (a short count stops at the first
   * page that faults).
   */
  private transfer(hva: bigint, len: number, write: boolean): number {
    this.iovView.setBigUint64(0, this.scratch, true);
    this.iovView.setBigUint64(8, BigInt(len), true);
    this.iovView.setBigUint64(16, BigInt.asUintN(64, hva), true);
    this.iovView.setBigUint64(24, BigInt(len), true);
    const n = write
      ? this.libc.processVmWritev(this.pid, this.iov, 1, this.iov + 16n, 1)
      : this.libc.processVmReadv(this.pid, this.iov, 1, this.iov + 16n, 1);
    if (n >= 0) return n;
    const e = this.libc.errno();
    // EFAULT is the faulting access; anything else means this host forbids the calls themselves.
    if (e !== EFAULT) throw new Error(`process_vm_${write ? 'writev' : 'readv'}() on our own pid failed: ${strerror(e)}`);
    return 0;
  }

  private fault(addr: bigint, write: boolean): never {
    const f = classifyFault(addr, write);
    throw new HostFault(f.signal, addr, f.code);
  }

  read(hva: bigint, length: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, length | 0));
    this.ensureScratch(out.length);
    for (let done = 0; done < out.length;) {
      const chunk = Math.min(out.length - done, this.scratchLen);
      const at = hva + BigInt(done);
      const n = this.transfer(at, chunk, false);
      out.set(this.scratchView.subarray(0, n), done);
      done += n;
      if (n < chunk) this.fault(at + BigInt(n), false);
    }
    return out;
  }

  /** First offset whose byte is not `value` (-1: none), read a scratch buffer at a time. */
  compare(hva: bigint, length: number, value: number): number {
    const len = Math.max(0, length | 0);
    this.ensureScratch(len);
    const pattern = patternBuffer(value, this.scratchLen);
    for (let done = 0; done < len;) {
      const chunk = Math.min(len - done, this.scratchLen);
      const at = hva + BigInt(done);
      const n = this.transfer(at, chunk, false);
      const got = this.scratchView.subarray(0, n);
      if (pattern.compare(got, 0, n, 0, n) !== 0) {
        for (let i = 0; i < n; i++) if (got[i] !== value) return done + i;
      }
      done += n;
      if (n < chunk) this.fault(at + BigInt(n), false);
    }
    return -1;
  }

  /** Like memcpy into the mapping: bytes before the faulting page stay written. */
  write(hva: bigint, data: Uint8Array): void {
    this.ensureScratch(data.length);
    for (let done = 0; done < data.length;) {
      const chunk = Math.min(data.length - done, this.scratchLen);
      this.scratchView.set(data.subarray(done, done + chunk), 0);
      const at = hva + BigInt(done);
      const n = this.transfer(at, chunk, true);
      done += n;
      if (n < chunk) this.fault(at + BigInt(n), true);
    }
  }

  fill(hva: bigint, length: number, value: number): void {
    const len = Math.max(0, length | 0);
    this.ensureScratch(len);
    this.scratchView.fill(value & 0xff, 0, Math.min(len, this.scratchLen));
    for (let done = 0; done < len;) {
      const chunk = Math.min(len - done, this.scratchLen);
      const at = hva + BigInt(done);
      const n = this.transfer(at, chunk, true);
      done += n;
      if (n < chunk) this.fault(at + BigInt(n), true);
    }
  }
}
