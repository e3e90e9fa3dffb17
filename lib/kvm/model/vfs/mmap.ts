/**
 * The file's part of mmap(2): what do_mmap() (mm/mmap.c) learns from the
 * file before mmap_region() places the mapping. A filesystem that refuses
 * exec (path_noexec()) answers EPERM to PROT_EXEC, a file without an mmap
 * method ENODEV, both before the method's own checks; the method supplies
 * the vm_operations that resolve each page.
 */

import type { PageSource } from '../host_as.js';
import type { OpenFile } from './file.js';

export interface FileMapping {
  readonly source: PageSource;
  /** f_op->mmap's own checks, given whether the mapping is shared. */
  readonly check?: (shared: boolean) => number;
}

export function fileMapping(f: OpenFile): FileMapping {
  const m = f.fops.mmap?.(f);
  if (!m) return { source: { noMmap: true, noexec: f.noexec, resolve: () => ({ signal: 'SIGBUS', code: 'BUS_ADRERR' }) } };
  return { source: { ...m.vmOps, noexec: f.noexec }, ...(m.check ? { check: m.check } : {}) };
}
