/**
 * The standard fds every process starts with. A selftest's stdin, stdout and
 * stderr are pipes to the runner, so the model opens fds 0..2 as pipes: they
 * are real files for fd lookups (KVM_SET_USER_MEMORY_REGION2 with
 * guest_memfd = 0 is "not a guest_memfd", EINVAL, never EBADF), KVM ioctls on
 * them are ENOTTY, reads see end of file and writes are consumed.
 */

import type { OpenFile } from './fd_table.js';

export class StdioPipe implements OpenFile {
  readonly kind = 'stdio' as const;
  constructor(readonly fdNo: 0 | 1 | 2) {}
  release(): void {}
}

/** Pipes share pipefs; each pipe has its own inode. */
export const STDIO_INO_BASE = 0x3n;
/** S_IFIFO | 0600, as pipe(2) creates them. */
export const STDIO_MODE = 0o010600;
