/**
 * The `kvm` backend: the host's /dev/kvm through FFI (koffi, prebuilt, no
 * compiler on the user's machine). Loaded only when KSFT_BACKEND=kvm, so a
 * model run never pays for the FFI library.
 */
import type { Backend } from '../backend.js';

/** The backend, or why it cannot exist in this process. */
export function createKvmBackend(): Backend | string {
  return 'the kvm backend is being assembled';
}
