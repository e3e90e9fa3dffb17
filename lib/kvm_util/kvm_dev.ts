/**
 * The backend behind "/dev/kvm" for this process, chosen by KSFT_BACKEND,
 * and the system-scope helpers (kvm_check_cap, kvm_has_cap) that open it.
 *
 * `kvm` (the host's real /dev/kvm through FFI) is not part of this build, so
 * asking for it is a requirement that is not met: the test skips with the
 * kselftest reason instead of crashing.
 */
import type { Backend } from '../kvm/backend.js';
import { ENOENT, strerror } from '../kvm/errno.js';
import { KVM_CHECK_EXTENSION } from '../kvm/uapi.js';
import { createModelBackend } from '../kvm/model/index.js';
import { isPluginPath, loadPlatformOrExit, registerPlatformModels } from '../platform/index.js';
import { TEST_ASSERT, KVM_IOCTL_ERROR, __TEST_REQUIRE } from './assert.js';
import { noteResult } from './errno_state.js';
import { ksftEnv } from './options.js';

export const KVM_DEV_PATH = '/dev/kvm';
export const O_RDWR = 2;

let current: Backend | undefined;

/** Use `b` for every later call (tests of the library, or a harness that made its own backend). */
export function setKvmBackend(b: Backend | undefined): void {
  current = b;
}

/** The process's backend, created on first use from KSFT_BACKEND / KSFT_KERNEL. */
export function kvmBackend(): Backend {
  if (current) return current;
  const env = ksftEnv();
  __TEST_REQUIRE(env.KSFT_BACKEND === 'model',
    'Requirement not met: KSFT_BACKEND=kvm (the real /dev/kvm backend is not available in this build)');
  const b = createModelBackend({ kernel: env.KSFT_KERNEL });
  // The platform plugins (platforms/<name>) replace the model's minimal built-in traits.
  registerPlatformModels({ register: (type, p) => b.registerPlatform(type, p) });
  // A user plugin (KSFT_PLATFORM=./dir) takes its VM type over.
  if (isPluginPath(env.KSFT_PLATFORM)) {
    const p = loadPlatformOrExit(env.KSFT_PLATFORM);
    b.registerPlatform(p.vmType, p.model);
  }
  current = b;
  return b;
}

/**
 * open_path_or_exit(): ENOENT means "no KVM here", a skip; any other failure
 * is an assertion (tools/testing/selftests/kvm/lib/kvm_util.c).
 */
export function openPathOrExit(path: string, flags: number): number {
  const b = kvmBackend();
  const r = noteResult(b.open(path, flags));
  __TEST_REQUIRE(r.ret >= 0 || r.errno !== ENOENT, `Cannot open ${path}: ${strerror(r.errno)}`);
  TEST_ASSERT(r.ret >= 0, `Failed to open '${path}'`);
  return r.ret;
}

export function openKvmDevPathOrExit(): number {
  return openPathOrExit(KVM_DEV_PATH, O_RDWR);
}

/** kvm_check_cap(): KVM_CHECK_EXTENSION on /dev/kvm, asserting ret >= 0. */
export function kvmCheckCap(cap: number): number {
  const b = kvmBackend();
  const fd = openKvmDevPathOrExit();
  const r = noteResult(b.ioctl(fd, KVM_CHECK_EXTENSION, cap));
  TEST_ASSERT(r.ret >= 0, KVM_IOCTL_ERROR('KVM_CHECK_EXTENSION', r.ret));
  b.close(fd);
  return r.ret;
}

/** kvm_has_cap(): !!kvm_check_cap(). */
export function kvmHasCap(cap: number): boolean {
  return kvmCheckCap(cap) !== 0;
}
