/**
 * An open file description as the VFS sees it (struct file,
 * include/linux/fs.h): the operations table of its kind (f_op), the mode
 * bits open gave it (f_mode), its position (f_pos) and its inode. The
 * syscalls in this folder look only at these; what a file kind does lives in
 * its table, and a method a table lacks answers what the VFS answers for a
 * NULL method.
 */

import type { IoctlArg, SysResult } from '../../backend.js';
import type { PageSource } from '../host_as.js';
import type { SparsePages } from '../sparse_pages.js';

export type FileKind = 'kvm' | 'vm' | 'vcpu' | 'gmem' | 'memfd' | 'stdio' | 'gup_test';

/** f_mode bits that decide pread/pwrite (include/linux/fs.h). */
export const FMODE_PREAD = 0x8;
export const FMODE_PWRITE = 0x10;

/** The file position a read/write method advances: f_pos, or a pread/pwrite offset. */
export interface FilePos {
  pos: bigint;
}

/**
 * What f_op->mmap makes of a mapping: its own checks (an errno or 0) and
 * the vm_operations the VMA gets (the page fault handler, NUMA policy hooks).
 */
export interface FileMmap {
  readonly vmOps: Omit<PageSource, 'noexec' | 'noMmap'>;
  check?(shared: boolean): number;
}

/**
 * struct file_operations: the methods the model's files implement. Each
 * table names the kernel table it mirrors; results are the kernel's
 * (SysResult for the syscall-shaped ones, an errno or 0 for fallocate).
 */
export interface FileOperations<F> {
  /** The kernel's table, e.g. 'kvm_vm_fops (virt/kvm/kvm_main.c)'. */
  readonly name: string;
  llseek?(file: F, offset: bigint, whence: number): SysResult;
  read?(file: F, buf: Uint8Array, ppos: FilePos | null): SysResult;
  write?(file: F, buf: Uint8Array, ppos: FilePos | null): SysResult;
  unlocked_ioctl?(file: F, cmd: number, arg: IoctlArg | undefined): SysResult;
  mmap?(file: F): FileMmap;
  /** __fput(): the last reference to the description is gone. */
  release?(file: F): void;
  fallocate?(file: F, mode: number, offset: bigint, len: bigint): number;
}

/** What fstat(2) reports (generic_fillattr()). */
export interface Kstat {
  readonly size: bigint;
  readonly ino: bigint;
  readonly mode: number;
}

export interface OpenFile {
  readonly kind: FileKind;
  readonly fops: FileOperations<this>;
  /** FMODE_PREAD | FMODE_PWRITE where open gave them; FMODE_LSEEK is the llseek method's presence (file_init_path()). */
  readonly fmode: number;
  /** f_pos of a file that has one; absent on a stream (FMODE_STREAM, file_ppos() is NULL). */
  pos?: bigint;
  /** path_noexec(): the file's filesystem refuses PROT_EXEC mappings (SB_I_NOEXEC). */
  readonly noexec: boolean;
  /** The file's page cache (f_mapping), for residency counts. */
  readonly pages?: SparsePages;
  /** i_op->getattr. */
  getattr(): Kstat;
  /** i_op->setattr with ATTR_SIZE (ftruncate of a regular file): 0 or an errno. */
  setattrSize?(len: bigint): number;
}

/** The single anon inode that VM and vCPU files share (fs/anon_inodes.c): mode 0600, no type bits. */
export const ANON_INODE_INO = 0x2n;
export const ANON_INODE_MODE = 0o600;
export const S_IFREG = 0o100000;
export const S_IFCHR = 0o020000;
export const S_IFMT = 0o170000;
