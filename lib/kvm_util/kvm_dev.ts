/**
 * The backend behind "/dev/kvm" for this process, chosen by KSFT_BACKEND
 * from a table of backends, and the system-scope helpers (kvm_check_cap,
 * kvm_has_cap) that open it.
 *
 * - `model`: the simulated /dev/kvm, with every platform plugin's behaviour
 *   (registered for every model backend by platform_types.ts, which
 *   options.ts loads) and the KSFT_KERNEL release profile.
 * - `kvm`: the host's /dev/kvm through FFI. A host without it skips at the
 *   first open, as C's open_path_or_exit() does.
 */
import type { Backend, ModelControl } from '../kvm/backend.js';
import { ENOENT, strerror } from '../kvm/errno.js';
import { KVM_CHECK_EXTENSION } from '../kvm/uapi.js';
import { createModelBackend } from '../kvm/model/index.js';
import { createKvmBackend } from '../kvm/kvm/index.js';
import { isPluginPath, loadPlatformOrExit } from '../platform/index.js';
import { TEST_ASSERT, KVM_IOCTL_ERROR, __TEST_REQUIRE } from './assert.js';
import { noteResult } from './errno_state.js';
import { ksftEnv, type KsftEnv } from './options.js';
import { writeStderr } from './ksft.js';
import { traceBackend } from './trace.js';

/** The path kvm_util opens: /dev/kvm (on the model, its simulated one). */
export const KVM_DEV_PATH = '/dev/kvm';
export const O_RDWR = 2;

let current: Backend | undefined;

/** With KSFT_TRACE=1, `b` behind the tracing wrapper (trace.ts); otherwise `b`. */
function maybeTraced(b: Backend): Backend {
  return ksftEnv().KSFT_TRACE === '1' ? traceBackend(b, writeStderr) : b;
}

/** Use `b` for every later call (tests of the library, or a harness that made its own backend). */
export function setKvmBackend(b: Backend | undefined): void {
  current = b && maybeTraced(b);
}

/** How each KSFT_BACKEND value makes its backend. */
const BACKENDS: Readonly<Record<KsftEnv['KSFT_BACKEND'], (env: KsftEnv) => Backend>> = {
  model(env) {
    const vmAttrs = env.KSFT_VM_MEMORY_ATTRIBUTES;
    const b = createModelBackend({
      kernel: env.KSFT_KERNEL,
      ...(vmAttrs !== undefined ? { vmMemoryAttributes: /^[Yy1]$/.test(vmAttrs) } : {}),
      ...(env.KSFT_NUMA_NODES !== undefined ? { numaNodes: Number(env.KSFT_NUMA_NODES) } : {}),
    });
    // A user plugin (KSFT_PLATFORM=./dir) takes its VM type over.
    if (isPluginPath(env.KSFT_PLATFORM)) {
      const p = loadPlatformOrExit(env.KSFT_PLATFORM);
      b.registerPlatform(p.vmType, p.model);
    }
    return b;
  },
  kvm() {
    const made = createKvmBackend();
    // No FFI library here: as unusable as a missing /dev/kvm, so a skip.
    __TEST_REQUIRE(typeof made !== 'string', `Requirement not met: KSFT_BACKEND=kvm (${made as string})`);
    return made;
  },
};

/** The process's backend, created on first use from KSFT_BACKEND / KSFT_KERNEL. */
export function kvmBackend(): Backend {
  if (current) return current;
  const env = ksftEnv();
  current = maybeTraced(BACKENDS[env.KSFT_BACKEND](env));
  return current;
}

/**
 * The model's controls, for what only a simulation can do (register a
 * platform, switch kernel profiles, inject poison, read a private page the
 * way a platform's firmware would). On another backend the test skips:
 * `Requirement not met: model backend (<what>)`.
 */
export function requireModel(what: string): ModelControl {
  const m = kvmBackend().model;
  __TEST_REQUIRE(m, `Requirement not met: model backend (${what})`);
  return m;
}

/**
 * open_path_or_exit(): ENOENT means "no KVM here", a skip; any other failure
 * is an assertion (tools/testing/selftests/kvm/lib/kvm_util.c), which for
 * EACCES (the environment refusing us) is test_assert()'s skip.
 */
export function openPathOrExit(path: string, flags: number, enoentHelp = ''): number {
  const b = kvmBackend();
  const r = noteResult(b.open(path, flags));
  __TEST_REQUIRE(r.ret >= 0 || r.errno !== ENOENT, `Cannot open ${path}: ${strerror(r.errno)}${enoentHelp ? `.  ${enoentHelp}` : ''}`);
  TEST_ASSERT(r.ret >= 0, `Failed to open '${path}'`);
  return r.ret;
}

/** open_kvm_dev_path_or_exit(): /dev/kvm of this process's backend; no KVM is a skip. */
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
