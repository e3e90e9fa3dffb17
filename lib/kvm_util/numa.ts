/**
 * NUMA memory policy calls of the selftests (include/numaif.h and
 * kvm_syscalls.h of 6.19's tools/testing/selftests/kvm): the raw
 * get_mempolicy()/mbind()/move_pages() wrappers, the asserting kvm_ forms
 * (KVM_SYSCALL_ERROR on failure), and is_multi_numa_node_system().
 * A backend without these calls answers ENOSYS, as a kernel built without
 * CONFIG_NUMA does.
 */
import type { SysResult } from '../kvm/backend.js';
import { ENOSYS, EPERM, strerror } from '../kvm/errno.js';
import { testAssertAt } from './assert.js';
import { noteResult } from './errno_state.js';
import { kvmBackend } from './kvm_dev.js';

export {
  MPOL_BIND, MPOL_DEFAULT, MPOL_F_ADDR, MPOL_F_MEMS_ALLOWED, MPOL_F_NODE, MPOL_F_NUMA_BALANCING, MPOL_F_RELATIVE_NODES,
  MPOL_F_STATIC_NODES, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, MPOL_MF_STRICT, MPOL_PREFERRED,
  MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE,
} from '../kvm/numa_uapi.js';

const SELF = ['lib/kvm_util/numa.ts'];
const nosys = { ret: -1, errno: ENOSYS } as const;

/** get_mempolicy()'s result: ret/errno with *policy and the first 64 nodes of *nmask. */
export interface MempolicyResult extends SysResult {
  /** What *policy receives (the mode with its flags, or a node with MPOL_F_NODE). */
  readonly policy: number;
  /** The first 64 nodes of *nmask. */
  readonly nodemask: bigint;
}

/** get_mempolicy(policy, nmask, maxnode, addr, flags); `wantNodemask` false passes nmask = NULL. */
export function getMempolicy(maxnode: bigint | number, addr: bigint, flags: bigint | number, wantNodemask = true): MempolicyResult {
  const b = kvmBackend();
  const r = b.getMempolicy ? b.getMempolicy(BigInt(maxnode), addr, BigInt(flags), wantNodemask) : { ...nosys, policy: 0, nodemask: 0n };
  noteResult(r);
  return r;
}

/** mbind(addr, len, mode, nodemask, maxnode, flags); `nodemask` null is NULL, else one unsigned long. */
export function mbind(addr: bigint, len: bigint | number, mode: number, nodemask: bigint | null, maxnode: bigint | number, flags: number): SysResult {
  const b = kvmBackend();
  const r = b.mbind ? b.mbind(addr, BigInt(len), mode, nodemask === null ? null : [nodemask], BigInt(maxnode), flags) : nosys;
  return noteResult(r);
}

/** move_pages()'s result: ret/errno and each page's status (its node, or a negative errno). */
export interface MovePagesResult extends SysResult {
  readonly status: readonly number[];
}

/** move_pages(pid, count, pages, NULL, status, flags): where each page is; only the calling process (pid 0). */
export function movePages(pid: 0, pages: readonly bigint[], nodes: null, flags: number): MovePagesResult {
  void nodes;
  const b = kvmBackend();
  const r = b.movePagesStatus ? b.movePagesStatus(pages, flags) : { ...nosys, status: [] };
  noteResult(r);
  return r;
}

const syscallError = (name: string, r: SysResult): string => `${name}() failed, rc: ${r.ret} errno: ${r.errno} (${strerror(r.errno)})`;

/** kvm_get_mempolicy(): get_mempolicy() asserted to succeed. */
export function kvmGetMempolicy(maxnode: bigint | number, addr: bigint, flags: bigint | number): MempolicyResult {
  const r = getMempolicy(maxnode, addr, flags);
  testAssertAt(r.ret === 0, '!r', syscallError('get_mempolicy', r), SELF);
  return r;
}

/** kvm_mbind(): mbind() asserted to succeed. */
export function kvmMbind(addr: bigint, len: bigint | number, mode: number, nodemask: bigint | null, maxnode: bigint | number, flags: number): void {
  const r = mbind(addr, len, mode, nodemask, maxnode, flags);
  testAssertAt(r.ret === 0, '!r', syscallError('mbind', r), SELF);
}

/** kvm_move_pages(): move_pages() asserted to succeed; the per-page status. */
export function kvmMovePages(pid: 0, pages: readonly bigint[], nodes: null, flags: number): readonly number[] {
  const r = movePages(pid, pages, nodes, flags);
  testAssertAt(r.ret === 0, '!r', syscallError('move_pages', r), SELF);
  return r.status;
}

/**
 * is_multi_numa_node_system(): NUMA is there (a dummy get_mempolicy() is
 * not ENOSYS or EPERM) and some node other than 0 exists.
 */
export function isMultiNumaNodeSystem(): boolean {
  const probe = getMempolicy(0, 0n, 0, false);
  const available = probe.ret === 0 || (probe.errno !== ENOSYS && probe.errno !== EPERM);
  return available && (kvmBackend().numaMaxNode?.() ?? 0) >= 1;
}
