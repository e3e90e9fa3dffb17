/**
 * The `kvm` backend: the host's /dev/kvm through FFI (koffi, prebuilt, no
 * compiler on the user's machine). The FFI library is loaded only when the
 * backend is made (KSFT_BACKEND=kvm), so a model run never pays for it.
 */
import type { Backend } from '../backend.js';
import { hostMemoryUnusable } from './host_memory.js';
import { KvmBackend } from './kvm_backend.js';
import { loadLibc } from './libc.js';

export { KvmBackend } from './kvm_backend.js';

/**
 * The backend, or why it cannot exist in this process: the FFI library is
 * missing, or the kernel lacks what host accesses of guest memory need.
 */
export function createKvmBackend(): Backend | string {
  const libc = loadLibc();
  if (typeof libc === 'string') return libc;
  return hostMemoryUnusable(libc) ?? new KvmBackend(libc);
}
