/**
 * ioctl(2) after the fd lookup: fs/ioctl.c vfs_ioctl() calls
 * f_op->unlocked_ioctl, and a file without one answers ENOTTY. The generic
 * requests do_vfs_ioctl() handles first (FIONBIO, FIGETBSZ, ...) are not
 * modelled.
 */

import { err, type IoctlArg, type SysResult } from '../../backend.js';
import { ENOTTY } from '../../errno.js';
import type { OpenFile } from './file.js';

export function vfsIoctl(f: OpenFile, cmd: number, arg: IoctlArg | undefined): SysResult {
  const m = f.fops.unlocked_ioctl;
  return m ? m(f, cmd, arg) : err(ENOTTY);
}
