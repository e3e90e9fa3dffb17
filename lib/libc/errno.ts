/** errno values (asm-generic/errno-base.h, errno.h) and their glibc strerror texts. */

export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOTTY = 25;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const E2BIG = 7;
export const ENOSYS = 38;
export const EOPNOTSUPP = 95;
export const EHWPOISON = 133;

const TABLE: Readonly<Record<number, readonly [string, string]>> = {
  0: ['0', 'Success'],
  [EPERM]: ['EPERM', 'Operation not permitted'],
  [ENOENT]: ['ENOENT', 'No such file or directory'],
  [EINTR]: ['EINTR', 'Interrupted system call'],
  [EIO]: ['EIO', 'Input/output error'],
  [ENXIO]: ['ENXIO', 'No such device or address'],
  [E2BIG]: ['E2BIG', 'Argument list too long'],
  [EBADF]: ['EBADF', 'Bad file descriptor'],
  [EAGAIN]: ['EAGAIN', 'Resource temporarily unavailable'],
  [ENOMEM]: ['ENOMEM', 'Cannot allocate memory'],
  [EACCES]: ['EACCES', 'Permission denied'],
  [EFAULT]: ['EFAULT', 'Bad address'],
  [EBUSY]: ['EBUSY', 'Device or resource busy'],
  [EEXIST]: ['EEXIST', 'File exists'],
  [ENODEV]: ['ENODEV', 'No such device'],
  [EINVAL]: ['EINVAL', 'Invalid argument'],
  [ENOTTY]: ['ENOTTY', 'Inappropriate ioctl for device'],
  [EFBIG]: ['EFBIG', 'File too large'],
  [ENOSPC]: ['ENOSPC', 'No space left on device'],
  [ESPIPE]: ['ESPIPE', 'Illegal seek'],
  [ENOSYS]: ['ENOSYS', 'Function not implemented'],
  [EOPNOTSUPP]: ['EOPNOTSUPP', 'Operation not supported'],
  [EHWPOISON]: ['EHWPOISON', 'Memory page has hardware error'],
};

/** `strerror(3)` text, as glibc prints it. */
export function strerror(errno: number): string {
  return TABLE[errno]?.[1] ?? `Unknown error ${errno}`;
}

/** Symbolic name (`EINVAL`), or the number when unknown. */
export function errnoName(errno: number): string {
  return TABLE[errno]?.[0] ?? String(errno);
}
