/**
 * NUMA memory policies as mm/mempolicy.c applies them to a process's
 * mappings: mbind(2)'s argument checks and policy construction, the per-VMA
 * policy (vma->vm_policy), the shared policy a file keeps per page offset
 * (shmem, and guest_memfd from 6.19: kvm_gmem_set_policy() /
 * kvm_gmem_get_policy() in virt/kvm/guest_memfd.c), and where a new page is
 * placed under a policy. The model host's CPU sits on node 0 (numa_node_id()).
 *
 * Sources (linux 6.12 mm/mempolicy.c unless named): sanitize_mpol_flags(),
 * get_nodes()/get_bitmap(), mpol_new(), mpol_set_nodemask(), do_mbind(),
 * queue_pages_range(), mbind_range()/vma_replace_policy(),
 * kernel_get_mempolicy()/do_get_mempolicy()/copy_nodes_to_user(),
 * policy_node(), interleave_nodes(); mm/migrate.c do_pages_stat_array().
 */
import { EFAULT, EINVAL } from '../errno.js';
import {
  MPOL_BIND, MPOL_DEFAULT, MPOL_F_NUMA_BALANCING, MPOL_F_RELATIVE_NODES, MPOL_F_STATIC_NODES, MPOL_LOCAL, MPOL_MAX,
  MPOL_MODE_FLAGS, MPOL_PREFERRED, MPOL_PREFERRED_MANY,
} from '../numa_uapi.js';

/** MAX_NUMNODES with x86-64's default CONFIG_NODES_SHIFT (6). */
export const MAX_NUMNODES = 64;
const BITS_PER_LONG = 64;
const PAGE_BITS = 4096 * 8;

/** A policy other than the default (the kernel's NULL). */
export interface Mempolicy {
  readonly mode: number;
  /** The user-visible mode flags (MPOL_F_STATIC_NODES, ...). */
  readonly flags: number;
  /** The nodes the policy uses, as a bit mask (node n = bit n). */
  readonly nodes: bigint;
  /** What get_mempolicy() reports as the nodemask (the user's mask with STATIC/RELATIVE_NODES). */
  readonly userNodes: bigint;
  /** Interleave rotation: the next node index (the kernel keeps it per task, current->il_prev). */
  ilNext: number;
}

export type Result<T> = { ok: T } | { errno: number };

/**
 * get_nodes(): the kernel reads BITS_TO_LONGS(maxnode - 1) words from the
 * user's mask (maxnode counts one past the last node: `--maxnode` first).
 * `words` is what the user's buffer holds; a buffer shorter than the words
 * the kernel reads faults (EFAULT). Bits past MAX_NUMNODES must be zero.
 */
export function getNodes(words: readonly bigint[] | null, maxnode: bigint): Result<bigint> {
  const m = BigInt.asUintN(64, maxnode - 1n);
  if (m === 0n || words === null) return { ok: 0n };
  if (m > BigInt(PAGE_BITS)) return { errno: EINVAL };
  const nlongs = Number((m + BigInt(BITS_PER_LONG) - 1n) / BigInt(BITS_PER_LONG));
  if (words.length < nlongs) return { errno: EFAULT };
  let mask = 0n;
  for (let i = 0; i < nlongs; i++) {
    let w = BigInt.asUintN(64, words[i]!);
    const bitsHere = Number(m) - i * BITS_PER_LONG;
    if (bitsHere < BITS_PER_LONG) w &= (1n << BigInt(bitsHere)) - 1n;
    if (i * BITS_PER_LONG >= MAX_NUMNODES) {
      if (w) return { errno: EINVAL };
      continue;
    }
    mask |= w << BigInt(i * BITS_PER_LONG);
  }
  return { ok: mask & ((1n << BigInt(MAX_NUMNODES)) - 1n) };
}

const lowestBit = (m: bigint): number => {
  for (let i = 0; i < MAX_NUMNODES; i++) if (m & (1n << BigInt(i))) return i;
  return -1;
};
const weight = (m: bigint): number => {
  let n = 0;
  for (let v = m; v; v &= v - 1n) n++;
  return n;
};

/** sanitize_mpol_flags(): the mode and its flags, or EINVAL. */
export function sanitizeMode(modeArg: number): Result<{ mode: number; flags: number }> {
  const flags = modeArg & MPOL_MODE_FLAGS;
  const mode = modeArg & ~MPOL_MODE_FLAGS;
  if (mode >>> 0 >= MPOL_MAX) return { errno: EINVAL };
  if ((flags & MPOL_F_STATIC_NODES) && (flags & MPOL_F_RELATIVE_NODES)) return { errno: EINVAL };
  if ((flags & MPOL_F_NUMA_BALANCING) && mode !== MPOL_BIND && mode !== MPOL_PREFERRED_MANY) return { errno: EINVAL };
  return { ok: { mode, flags } };
}

/**
 * mpol_new() + mpol_set_nodemask() for a host with `nrNodes` memory nodes
 * (0..nrNodes-1), after sanitizeMode(): the policy, null for MPOL_DEFAULT,
 * or the errno mbind() returns.
 */
export function makePolicy(modeIn: number, flags: number, nodes: bigint, nrNodes: number): Result<Mempolicy | null> {
  let mode = modeIn;
  if (mode === MPOL_DEFAULT) return nodes ? { errno: EINVAL } : { ok: null };
  if (mode === MPOL_PREFERRED) {
    if (!nodes) {
      if (flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES)) return { errno: EINVAL };
      mode = MPOL_LOCAL;
    }
  } else if (mode === MPOL_LOCAL) {
    if (nodes || (flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES))) return { errno: EINVAL };
  } else if (!nodes) {
    return { errno: EINVAL };
  }
  if (mode === MPOL_LOCAL) return { ok: { mode, flags, nodes: 0n, userNodes: 0n, ilNext: 0 } };

  // mpol_set_nodemask(): only nodes with memory (N_MEMORY, within the cpuset) count.
  const memory = (1n << BigInt(nrNodes)) - 1n;
  let effective: bigint;
  if (flags & MPOL_F_RELATIVE_NODES) {
    // mpol_relative_nodemask(): node n of the user's mask means the n-th node with memory (folded).
    effective = 0n;
    for (let i = 0; i < MAX_NUMNODES; i++) if (nodes & (1n << BigInt(i))) effective |= 1n << BigInt(i % nrNodes);
    effective &= memory;
  } else {
    effective = nodes & memory;
  }
  if (!effective) return { errno: EINVAL };
  // mpol_new_preferred(): PREFERRED keeps the first node only.
  if (mode === MPOL_PREFERRED) effective = 1n << BigInt(lowestBit(effective));
  const userNodes = flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES) ? nodes : effective;
  return { ok: { mode, flags, nodes: effective, userNodes, ilNext: 0 } };
}

/** mpol_equal(): mbind_range() leaves a VMA alone when its policy already equals the new one. */
export function mpolEqual(a: Mempolicy | null, b: Mempolicy | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.mode === b.mode && a.flags === b.flags && a.userNodes === b.userNodes && a.nodes === b.nodes;
}

/** What get_mempolicy() reports for a policy (null: the default policy). */
export function reportPolicy(p: Mempolicy | null): { policy: number; nodes: bigint } {
  if (!p) return { policy: MPOL_DEFAULT, nodes: 0n };
  return { policy: p.mode | p.flags, nodes: p.mode === MPOL_LOCAL ? 0n : p.userNodes };
}

/** The node a new page goes to under `p`, allocating from node 0 (policy_node(), interleave_nodes()). */
export function placeNode(p: Mempolicy | null): number {
  const LOCAL = 0;
  if (!p || p.mode === MPOL_LOCAL) return LOCAL;
  switch (p.mode) {
    case MPOL_PREFERRED:
      return lowestBit(p.nodes);
    case MPOL_BIND:
    case MPOL_PREFERRED_MANY:
      // The local node if the mask allows it, else the nearest allowed one (the lowest, on this host).
      return p.nodes & (1n << BigInt(LOCAL)) ? LOCAL : lowestBit(p.nodes);
    default: {
      // MPOL_INTERLEAVE, and WEIGHTED_INTERLEAVE with every weight 1: round robin over the mask.
      const n = weight(p.nodes);
      const target = p.ilNext % n;
      p.ilNext = (p.ilNext + 1) % n;
      let seen = 0;
      for (let i = 0; i < MAX_NUMNODES; i++) {
        if (!(p.nodes & (1n << BigInt(i)))) continue;
        if (seen++ === target) return i;
      }
      return LOCAL;
    }
  }
}

/**
 * A file's shared policy by page offset (struct shared_policy:
 * mpol_set_shared_policy() replaces a range, a NULL policy deletes it;
 * mpol_shared_policy_lookup() finds the policy at an offset).
 */
export class SharedPolicy {
  private ranges: { start: number; end: number; pol: Mempolicy }[] = [];

  set(start: number, end: number, pol: Mempolicy | null): void {
    const out: { start: number; end: number; pol: Mempolicy }[] = [];
    for (const r of this.ranges) {
      if (r.end <= start || r.start >= end) {
        out.push(r);
        continue;
      }
      if (r.start < start) out.push({ start: r.start, end: start, pol: r.pol });
      if (r.end > end) out.push({ start: end, end: r.end, pol: r.pol });
    }
    if (pol) out.push({ start, end, pol });
    out.sort((a, b) => a.start - b.start);
    this.ranges = out;
  }

  lookup(pgoff: number): Mempolicy | null {
    for (const r of this.ranges) if (pgoff >= r.start && pgoff < r.end) return r.pol;
    return null;
  }

  clear(): void {
    this.ranges = [];
  }
}
