/**
 * The process's file descriptor table. An fd points at an open file
 * description (`OpenFile`); dup() shares it, and the description is released
 * when its last fd closes (fs/file_table.c, __fput() → f_op->release()).
 * New fds take the lowest free number, as POSIX requires; 0..2 are the
 * standard fds the backend opens first.
 */

import type { OpenFile } from './vfs/file.js';

export type { FileKind, OpenFile } from './vfs/file.js';

interface Entry {
  file: OpenFile;
}

export class FdTable {
  private readonly fds = new Map<number, Entry>();
  private readonly refs = new Map<OpenFile, number>();

  install(file: OpenFile): number {
    let fd = 0;
    while (this.fds.has(fd)) fd++;
    this.fds.set(fd, { file });
    this.refs.set(file, (this.refs.get(file) ?? 0) + 1);
    return fd;
  }

  /** The description behind `fd`; undefined for a closed, negative or unknown fd (EBADF). */
  get(fd: number): OpenFile | undefined {
    if (!Number.isSafeInteger(fd)) return undefined;
    return this.fds.get(fd)?.file;
  }

  dup(fd: number): number | undefined {
    const f = this.get(fd);
    return f ? this.install(f) : undefined;
  }

  close(fd: number): boolean {
    const e = Number.isSafeInteger(fd) ? this.fds.get(fd) : undefined;
    if (!e) return false;
    this.fds.delete(fd);
    const n = (this.refs.get(e.file) ?? 1) - 1;
    if (n <= 0) {
      this.refs.delete(e.file);
      e.file.fops.release?.(e.file);
    } else {
      this.refs.set(e.file, n);
    }
    return true;
  }

  get openCount(): number {
    return this.fds.size;
  }
}
