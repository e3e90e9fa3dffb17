/**
 * A syscall's answer as the model returns it: ret, or -1 with errno (the
 * kernel's negative return split the way libc splits it).
 */

import type { SysResult } from '../backend.js';

export const ok = (ret = 0): SysResult => ({ ret, errno: 0 });
export const err = (errno: number): SysResult => ({ ret: -1, errno });
