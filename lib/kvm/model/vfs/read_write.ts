/**
 * read(2), write(2), pread64(2), pwrite64(2) and lseek(2) after the fd
 * lookup (fs/read_write.c). vfs_read()/vfs_write() give EINVAL to a file
 * without the method (no FMODE_CAN_READ/WRITE); the positional forms need
 * FMODE_PREAD/PWRITE (ESPIPE), which alloc_file_pseudo() files and streams
 * lack; vfs_llseek() needs FMODE_LSEEK, which a file has when its table has
 * llseek (ESPIPE otherwise).
 */

import { err, ok, type SysResult } from '../../backend.js';
import { EINVAL, ESPIPE } from '../../errno.js';
import { FMODE_PREAD, FMODE_PWRITE, type FilePos, type OpenFile } from './file.js';

const SEEK_MAX = 4;

/** ksys_read()/ksys_write(): the method advances f_pos, which a stream has not. */
export function vfsReadWrite(f: OpenFile, buf: Uint8Array, write: boolean): SysResult {
  const m = write ? f.fops.write : f.fops.read;
  if (!m) return err(EINVAL);
  const ppos: FilePos | null = f.pos !== undefined ? { pos: f.pos } : null;
  const r = m(f, buf, ppos);
  if (r.ret >= 0 && ppos) f.pos = ppos.pos;
  return r;
}

/** ksys_pread64()/ksys_pwrite64() once the offset is known not to be negative. */
export function vfsPositional(f: OpenFile, buf: Uint8Array, offset: bigint, write: boolean): SysResult {
  if (!(f.fmode & (write ? FMODE_PWRITE : FMODE_PREAD))) return err(ESPIPE);
  const m = write ? f.fops.write : f.fops.read;
  if (!m) return err(EINVAL);
  return m(f, buf, { pos: offset });
}

/** ksys_lseek(): whence past SEEK_MAX is EINVAL before vfs_llseek() looks at the file. */
export function vfsLlseek(f: OpenFile, offset: bigint, whence: number): SysResult {
  if (!(whence >= 0 && whence <= SEEK_MAX) || !Number.isInteger(whence)) return err(EINVAL);
  const m = f.fops.llseek;
  if (!m) return err(ESPIPE);
  return m(f, BigInt.asIntN(64, offset), whence);
}

/** noop_llseek() (fs/read_write.c): the position stays where it is, 0 for the KVM files that never move it. */
export function noopLlseek(f: OpenFile): SysResult {
  return ok(Number(f.pos ?? 0n));
}
