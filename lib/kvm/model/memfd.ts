/**
 * memfd_create(2): a plain shmem file (mm/shmem.c). The selftests use it as
 * "a file that is not a guest_memfd"; it supports read/write, ftruncate,
 * fallocate and mmap like any tmpfs file.
 */

import { SharedPolicy, placeNode } from './mempolicy.js';
import { EINVAL, EOPNOTSUPP, EFBIG, ENXIO } from '../errno.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, PAGE_SIZE } from '../uapi.js';
import { err, ok, type SysResult } from '../backend.js';
import { FMODE_PREAD, FMODE_PWRITE, S_IFREG, type FileOperations, type Kstat, type OpenFile } from './vfs/file.js';
import { SparsePages } from './sparse_pages.js';
import type { HostFaultSpec } from './platform.js';

const PAGE = BigInt(PAGE_SIZE);
const MAX_LFS_FILESIZE = (1n << 63n) - 1n;
let nextIno = 0x100000n;

/**
 * shmem_file_operations (mm/shmem.c) as memfd_create() sets the file up:
 * it adds FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE (mm/memfd.c).
 */
export const shmemFileOperations: FileOperations<MemFile> = {
  name: 'shmem_file_operations (mm/shmem.c)',
  llseek: (f, off, whence) => f.llseek(off, whence),
  read: (f, buf, ppos) => f.rw(buf, ppos ?? f, false),
  write: (f, buf, ppos) => f.rw(buf, ppos ?? f, true),
  mmap: (f) => ({
    vmOps: {
      ino: f.ino, resolve: (pgoff) => { const r = f.userFault(pgoff); return typeof r === 'number' ? { store: f.pages, index: r } : r; },
      setPolicy: (first, end, pol) => f.policy.set(first, end, pol), getPolicy: (pgoff) => f.policy.lookup(pgoff),
    },
  }),
  release: (f) => f.pages.clear(),
  fallocate: (f, mode, offset, len) => f.fallocate(mode, offset, len),
};

export class MemFile implements OpenFile {
  readonly kind = 'memfd' as const;
  readonly fops = shmemFileOperations;
  readonly fmode = FMODE_PREAD | FMODE_PWRITE;
  readonly noexec = false;
  readonly ino = nextIno++;
  readonly pages = new SparsePages();
  /** shmem's shared NUMA policy (mm/shmem.c shmem_set_policy()/shmem_get_policy()). */
  readonly policy = new SharedPolicy();
  size = 0n;
  pos = 0n;

  constructor(readonly name: string) {
    this.pages.placer = (index) => placeNode(this.policy.lookup(index));
  }

  getattr(): Kstat {
    return { size: this.size, ino: this.ino, mode: S_IFREG | 0o777 };
  }

  setattrSize(len: bigint): number {
    this.truncate(len);
    return 0;
  }

  /** shmem_file_read_iter() / shmem_file_write_iter() at *ppos, which they advance. */
  rw(buf: Uint8Array, ppos: { pos: bigint }, write: boolean): SysResult {
    const n = write ? this.writeAt(buf, ppos.pos) : this.readAt(buf, ppos.pos);
    if (n < 0) return err(-n);
    ppos.pos += BigInt(n);
    return ok(n);
  }

  /**
   * shmem_file_llseek(): SEEK_SET/CUR/END as generic_file_llseek_size(), a
   * negative result EINVAL; SEEK_DATA/SEEK_HOLE through
   * mapping_seek_hole_data(), ENXIO at or past i_size.
   */
  llseek(off: bigint, whence: number): SysResult {
    let pos: bigint;
    if (whence === 0) pos = off;
    else if (whence === 1) pos = this.pos + off;
    else if (whence === 2) pos = this.size + off;
    else {
      const r = this.seekHoleData(off, whence === 3);
      if (r === undefined) return err(ENXIO);
      pos = r;
    }
    if (pos < 0n) return err(EINVAL);
    this.pos = pos;
    return ok(Number(pos));
  }

  readAt(buf: Uint8Array, offset: bigint): number {
    if (offset >= this.size) return 0;
    const n = Number(this.size - offset < BigInt(buf.length) ? this.size - offset : BigInt(buf.length));
    for (let done = 0; done < n;) {
      const at = Number(offset) + done;
      const chunk = Math.min(n - done, PAGE_SIZE - (at % PAGE_SIZE));
      buf.set(this.pages.read(at, chunk), done);
      done += chunk;
    }
    return n;
  }

  writeAt(buf: Uint8Array, offset: bigint): number {
    if (offset + BigInt(buf.length) > MAX_LFS_FILESIZE) return -EFBIG;
    for (let done = 0; done < buf.length;) {
      const at = Number(offset) + done;
      const chunk = Math.min(buf.length - done, PAGE_SIZE - (at % PAGE_SIZE));
      this.pages.write(at, buf.subarray(done, done + chunk));
      done += chunk;
    }
    const end = offset + BigInt(buf.length);
    if (end > this.size) this.size = end;
    return buf.length;
  }

  truncate(len: bigint): void {
    if (len < this.size) {
      const keep = Number((len + PAGE - 1n) / PAGE);
      this.pages.drop(keep, Number((this.size + PAGE - 1n) / PAGE));
      const tail = Number(len % PAGE);
      if (tail && this.pages.has(Number(len / PAGE))) this.pages.touch(Number(len / PAGE)).fill(0, tail);
    }
    this.size = len;
  }

  /** shmem_fallocate() after vfs_fallocate()'s checks. */
  fallocate(mode: number, offset: bigint, len: bigint): number {
    const off = BigInt.asIntN(64, offset);
    const ln = BigInt.asIntN(64, len);
    if (off < 0n || ln <= 0n) return EINVAL;
    if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return EOPNOTSUPP;
    if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE)) return EOPNOTSUPP;
    if (off + ln > MAX_LFS_FILESIZE) return EFBIG;
    if (mode & FALLOC_FL_PUNCH_HOLE) {
      const first = (off + PAGE - 1n) / PAGE;
      const end = (off + ln) / PAGE;
      if (first < end) this.pages.drop(Number(first), Number(end));
      return 0;
    }
    if (!(mode & FALLOC_FL_KEEP_SIZE) && off + ln > this.size) this.size = off + ln;
    return 0;
  }

  /**
   * SEEK_DATA (`data`) or SEEK_HOLE from `off` (mm/filemap.c,
   * mapping_seek_hole_data() with end = i_size): the first written page at
   * or after `off`, or the first page not in the cache (i_size if none);
   * undefined (ENXIO) for a negative offset, one at or past i_size, or no
   * data after it. Pages fallocate() added are not uptodate, so they count as
   * holes, which is what the model's "a page exists once written" gives.
   */
  seekHoleData(off: bigint, data: boolean): bigint | undefined {
    if (off < 0n || off >= this.size) return undefined;
    const first = Number(off / PAGE);
    const last = Number((this.size - 1n) / PAGE);
    if (data) {
      const idx = this.pages.firstAtOrAfter(first);
      if (idx === undefined || idx > last) return undefined;
      return idx === first ? off : BigInt(idx) * PAGE;
    }
    let i = first;
    while (i <= last && this.pages.has(i)) i++;
    const pos = i === first ? off : BigInt(i) * PAGE;
    return pos > this.size ? this.size : pos;
  }

  /** shmem_fault(): SIGBUS past EOF. */
  userFault(pgoff: number): number | HostFaultSpec {
    if (BigInt(pgoff) * PAGE >= this.size) return { signal: 'SIGBUS', code: 'BUS_ADRERR', detail: 'memfd: offset past EOF' };
    return pgoff;
  }
}
