/**
 * ftruncate(2) and fallocate(2) after the fd lookup (fs/open.c).
 * do_ftruncate() takes only a regular file and hands the size to the
 * inode's setattr (EINVAL otherwise). vfs_fallocate() checks offset and
 * length, refuses a FIFO (ESPIPE) and anything that is not a regular file
 * (ENODEV), and only then calls f_op->fallocate (EOPNOTSUPP without one);
 * the model's fallocate methods repeat the mode and size checks in front of
 * their own.
 */

import { EINVAL, ENODEV, EOPNOTSUPP, ESPIPE } from '../../errno.js';
import { S_IFMT, S_IFREG, type OpenFile } from './file.js';

const S_IFIFO = 0o010000;
const S_IFBLK = 0o060000;

/** do_ftruncate() once the length is known not to be negative: 0 or an errno. */
export function vfsTruncate(f: OpenFile, len: bigint): number {
  if ((f.getattr().mode & S_IFMT) !== S_IFREG || !f.setattrSize) return EINVAL;
  return f.setattrSize(len);
}

/** vfs_fallocate(): 0 or an errno. */
export function vfsFallocate(f: OpenFile, mode: number, offset: bigint, len: bigint): number {
  const m = f.fops.fallocate;
  if (m) return m(f, mode, offset, len);
  const off = BigInt.asIntN(64, offset);
  const ln = BigInt.asIntN(64, len);
  if (off < 0n || ln <= 0n) return EINVAL;
  const type = f.getattr().mode & S_IFMT;
  if (type === S_IFIFO) return ESPIPE;
  if (type !== S_IFREG && type !== S_IFBLK) return ENODEV;
  return EOPNOTSUPP;
}
