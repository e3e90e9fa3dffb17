/**
 * mbind(2), get_mempolicy(2) and move_pages(2) (query form) against the
 * model's address space, on a host of `nrNodes` memory nodes with every
 * CPU on node 0. The rules are mm/mempolicy.c's and mm/migrate.c's (6.12);
 * see mempolicy.ts for the policy itself.
 *
 * Not modelled: page migration. MPOL_MF_MOVE/MOVE_ALL move nothing here
 * (every misplaced page counts as not migrated, which only MPOL_MF_STRICT
 * turns into EIO), and move_pages() with a node array is not offered.
 * The task policy (set_mempolicy()) is always the default.
 */
import { EFAULT, EINVAL, EIO } from '../errno.js';
import {
  MPOL_BIND, MPOL_DEFAULT, MPOL_F_ADDR, MPOL_F_MEMS_ALLOWED, MPOL_F_NODE, MPOL_INTERLEAVE, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL,
  MPOL_MF_STRICT, MPOL_MF_VALID, MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE,
} from '../numa_uapi.js';
import type { HostAddressSpace } from './host_as.js';
import { getNodes, makePolicy, reportPolicy, sanitizeMode } from './mempolicy.js';

const PAGE = 4096n;
const PAGE_BYTES = 4096n;

/** kernel_mbind() → do_mbind(). Returns 0 or an errno. */
export function mbind(host: HostAddressSpace, nrNodes: number, start: bigint, lenIn: bigint, modeArg: number,
  nodemask: readonly bigint[] | null, maxnode: bigint, flagsIn: number): number {
  const sm = sanitizeMode(modeArg);
  if ('errno' in sm) return sm.errno;
  const nodes = getNodes(nodemask, maxnode);
  if ('errno' in nodes) return nodes.errno;

  let flags = flagsIn >>> 0;
  if (flags & ~MPOL_MF_VALID) return EINVAL;
  // MPOL_MF_MOVE_ALL needs CAP_SYS_NICE, which the model's process has.
  const a = BigInt.asUintN(64, start);
  if (a % PAGE !== 0n) return EINVAL;
  if (sm.ok.mode === MPOL_DEFAULT) flags &= ~MPOL_MF_STRICT;
  const len = (BigInt.asUintN(64, lenIn) + PAGE - 1n) & ~(PAGE - 1n) & ((1n << 64n) - 1n);
  const end = a + len;
  if (end >= 1n << 64n) return EINVAL;
  if (end === a) return 0;

  const pol = makePolicy(sm.ok.mode, sm.ok.flags, nodes.ok, nrNodes);
  if ('errno' in pol) return pol.errno;

  // queue_pages_range() counts misplaced pages (not moved: the model
  // migrates nothing, with or without MPOL_MF_MOVE*); the policy is applied
  // regardless, and under MPOL_MF_STRICT a count is EIO (do_mbind()).
  const failed = pol.ok !== null && (flags & MPOL_MF_STRICT) !== 0 && misplaced(host, a, end, pol.ok.nodes, pol.ok.mode);
  const e = host.mbind(a, len, pol.ok);
  return e || (failed ? EIO : 0);
}

/** A page in [a, end) that sits outside `nodes` (queue_folios_pte_range()'s test, for modes with a node set). */
function misplaced(host: HostAddressSpace, a: bigint, end: bigint, nodes: bigint, mode: number): boolean {
  if (mode !== MPOL_BIND && mode !== MPOL_INTERLEAVE && mode !== MPOL_PREFERRED_MANY && mode !== MPOL_WEIGHTED_INTERLEAVE) return false;
  for (let p = a; p < end; p += PAGE) {
    const n = host.pageNodeAt(p);
    if (n >= 0 && !(nodes & (1n << BigInt(n)))) return true;
  }
  return false;
}

export interface MempolicyResult {
  readonly errno: number;
  readonly policy: number;
  readonly nodemask: bigint;
}

/**
 * kernel_get_mempolicy() → do_get_mempolicy(): the policy (with its mode
 * flags) or, with MPOL_F_NODE|MPOL_F_ADDR, the node of the page at `addr`;
 * the nodemask as copy_nodes_to_user() leaves it.
 */
export function getMempolicy(host: HostAddressSpace, nrNodes: number, maxnode: bigint, addr: bigint, flagsIn: bigint, wantNodemask: boolean): MempolicyResult {
  const fail = (errno: number): MempolicyResult => ({ errno, policy: 0, nodemask: 0n });
  if (wantNodemask && BigInt.asUintN(64, maxnode) < BigInt(nrNodes)) return fail(EINVAL);
  const flags = BigInt.asUintN(64, flagsIn);
  if (flags & ~BigInt(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED)) return fail(EINVAL);

  let policy: number;
  let nodes: bigint;
  if (flags & BigInt(MPOL_F_MEMS_ALLOWED)) {
    if (flags & BigInt(MPOL_F_NODE | MPOL_F_ADDR)) return fail(EINVAL);
    policy = 0;
    nodes = (1n << BigInt(nrNodes)) - 1n;
  } else {
    let pol = null;
    if (flags & BigInt(MPOL_F_ADDR)) {
      const r = host.policyAt(BigInt.asUintN(64, addr));
      if ('errno' in r) return fail(r.errno);
      pol = r.pol;
    } else if (addr) {
      return fail(EINVAL);
    }
    const rep = reportPolicy(pol);
    nodes = rep.nodes;
    if (flags & BigInt(MPOL_F_NODE)) {
      // lookup_node(): the node of the page at addr, faulted in as a read
      // (a never-written page is the zero page, on node 0). Without
      // MPOL_F_ADDR only an interleaving task policy answers; the model's is the default.
      if (!(flags & BigInt(MPOL_F_ADDR))) return fail(EINVAL);
      const n = host.pageNodeAt(BigInt.asUintN(64, addr));
      if (n === -EFAULT) return fail(EFAULT);
      policy = n < 0 ? 0 : n;
    } else {
      policy = rep.policy;
    }
  }
  if (wantNodemask) {
    // copy_nodes_to_user(): ALIGN(maxnode - 1, 64) / 8 bytes; past nr_node_ids cleared, past a page EINVAL.
    const copy = ((BigInt.asUintN(64, maxnode) - 1n + 63n) / 64n) * 8n;
    const nbytes = BigInt(Math.ceil(nrNodes / 64) * 8);
    if (copy > nbytes && copy > PAGE_BYTES) return fail(EINVAL);
  }
  return { errno: 0, policy, nodemask: nodes };
}

/** kernel_move_pages() without nodes (do_pages_stat()): each page's node or -errno. */
export function movePagesStatus(host: HostAddressSpace, pages: readonly bigint[], flags: number): { errno: number; status: number[] } {
  if (flags & ~(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL)) return { errno: EINVAL, status: [] };
  return { errno: 0, status: pages.map((p) => host.pageNodeAt(BigInt.asUintN(64, p))) };
}
