/**
 * The standard fds every process starts with. A selftest's stdin, stdout and
 * stderr are pipes to the runner, so the model opens fds 0..2 as pipes: they
 * are real files for fd lookups (KVM_SET_USER_MEMORY_REGION2 with
 * guest_memfd = 0 is "not a guest_memfd", EINVAL, never EBADF), KVM ioctls on
 * them are ENOTTY, reads see end of file and writes are consumed.
 */

import type { FileOperations, Kstat, OpenFile } from './vfs/file.js';
import { ok } from '../backend.js';

/** Pipes share pipefs; each pipe has its own inode. */
export const STDIO_INO_BASE = 0x3n;
/** S_IFIFO | 0600, as pipe(2) creates them. */
export const STDIO_MODE = 0o010600;

/**
 * pipefifo_fops (fs/pipe.c): a stream without llseek or positional I/O.
 * pipe_ioctl() knows only FIONREAD and the watch-queue requests, so a KVM
 * request is ENOTTY as it is for a file without the method. Reads see the
 * writer gone (end of file); writes are consumed by the reader.
 */
export const pipefifoFops: FileOperations<StdioPipe> = {
  name: 'pipefifo_fops (fs/pipe.c)',
  read: () => ok(0),
  write: (_f, buf) => ok(buf.length),
};

export class StdioPipe implements OpenFile {
  readonly kind = 'stdio' as const;
  readonly fops = pipefifoFops;
  readonly fmode = 0;
  readonly noexec = false;
  constructor(readonly fdNo: 0 | 1 | 2) {}

  getattr(): Kstat {
    return { size: 0n, ino: STDIO_INO_BASE + BigInt(this.fdNo), mode: STDIO_MODE };
  }
}
