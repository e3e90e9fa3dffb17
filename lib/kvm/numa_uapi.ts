/**
 * NUMA memory policy constants of the Linux uAPI (include/uapi/linux/mempolicy.h):
 * the modes and mode flags of mbind(2)/set_mempolicy(2), mbind()'s and
 * move_pages()'s flags, get_mempolicy()'s flags.
 */
export const MPOL_DEFAULT = 0;
export const MPOL_PREFERRED = 1;
export const MPOL_BIND = 2;
export const MPOL_INTERLEAVE = 3;
export const MPOL_LOCAL = 4;
export const MPOL_PREFERRED_MANY = 5;
export const MPOL_WEIGHTED_INTERLEAVE = 6;
export const MPOL_MAX = 7;

export const MPOL_F_NUMA_BALANCING = 1 << 13;
export const MPOL_F_RELATIVE_NODES = 1 << 14;
export const MPOL_F_STATIC_NODES = 1 << 15;
export const MPOL_MODE_FLAGS = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING;

/** mbind() flags. */
export const MPOL_MF_STRICT = 1 << 0;
export const MPOL_MF_MOVE = 1 << 1;
export const MPOL_MF_MOVE_ALL = 1 << 2;
export const MPOL_MF_VALID = MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL;

/** get_mempolicy() flags. */
export const MPOL_F_NODE = 1 << 0;
export const MPOL_F_ADDR = 1 << 1;
export const MPOL_F_MEMS_ALLOWED = 1 << 2;
