/**
 * NUMA memory policy constants of the Linux uAPI (include/uapi/linux/mempolicy.h):
 * the modes and mode flags of mbind(2)/set_mempolicy(2), mbind()'s and
 * move_pages()'s flags, get_mempolicy()'s flags.
 */
/** The default policy: the task's, else the local node. */
export const MPOL_DEFAULT = 0;
/** Prefer one node, fall back to others. */
export const MPOL_PREFERRED = 1;
/** Allocate only from the nodes given. */
export const MPOL_BIND = 2;
/** Round-robin over the nodes given. */
export const MPOL_INTERLEAVE = 3;
/** The node of the allocating CPU. */
export const MPOL_LOCAL = 4;
/** Prefer any of the nodes given, fall back to others. */
export const MPOL_PREFERRED_MANY = 5;
/** Interleave by per-node weights. */
export const MPOL_WEIGHTED_INTERLEAVE = 6;
/** One past the last mode. */
export const MPOL_MAX = 7;

/** Mode flag: NUMA balancing within BIND / PREFERRED_MANY. */
export const MPOL_F_NUMA_BALANCING = 1 << 13;
/** Mode flag: node numbers are relative to the allowed set. */
export const MPOL_F_RELATIVE_NODES = 1 << 14;
/** Mode flag: node numbers are absolute, kept across cpuset changes. */
export const MPOL_F_STATIC_NODES = 1 << 15;
/** Every mode flag. */
export const MPOL_MODE_FLAGS = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING;

/** mbind() flags. */
export const MPOL_MF_STRICT = 1 << 0;
/** mbind(): move pages mapped only by this process. */
export const MPOL_MF_MOVE = 1 << 1;
/** mbind(): move every page (CAP_SYS_NICE). */
export const MPOL_MF_MOVE_ALL = 1 << 2;
/** Every mbind() flag. */
export const MPOL_MF_VALID = MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL;

/** get_mempolicy() flags. */
export const MPOL_F_NODE = 1 << 0;
/** get_mempolicy(): the policy at an address. */
export const MPOL_F_ADDR = 1 << 1;
/** get_mempolicy(): the nodes the task may use. */
export const MPOL_F_MEMS_ALLOWED = 1 << 2;
