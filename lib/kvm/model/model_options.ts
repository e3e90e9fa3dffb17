/**
 * The model's options (ModelOptions) and the environment variables that
 * stand in for them (KSFT_KERNEL, KSFT_VM_MEMORY_ATTRIBUTES,
 * KSFT_NUMA_NODES), resolved once into the settings a backend keeps. A bad
 * value is a one-line error naming the option, the value and what is
 * expected.
 */

import { MAX_NUMNODES } from './mempolicy.js';
import { KERNEL_NAMES, isKernelName, kernelProfile, type KernelName, type KernelProfile } from './profiles.js';

export interface ModelOptions {
  /** Kernel release profile; default env KSFT_KERNEL, else '6.18'. */
  kernel?: KernelName;
  /**
   * kvm.vm_memory_attributes (7.4): true keeps the per-VM
   * KVM_SET_MEMORY_ATTRIBUTES, false tracks PRIVATE per guest_memfd. Default
   * env KSFT_VM_MEMORY_ATTRIBUTES (Y/N), else the release's default.
   */
  vmMemoryAttributes?: boolean;
  /**
   * NUMA nodes of the simulated host (every CPU on node 0); default env
   * KSFT_NUMA_NODES, else 1, like a host without NUMA.
   */
  numaNodes?: number;
  /** Guest physical address width (kvm_mmu_max_gfn()); default 52. */
  maxPhysBits?: number;
  /** false simulates a host without /dev/kvm (open → ENOENT). */
  devKvm?: boolean;
}

/** The settings a model backend runs with. */
export interface ModelSettings {
  readonly profile: KernelProfile;
  readonly maxPhysBits: number;
  readonly numaNodes: number;
  readonly devKvm: boolean;
}

/** The options, else the environment, else the defaults; throws on a bad value. */
export function resolveModelOptions(opts: ModelOptions): ModelSettings {
  const env = process.env.KSFT_KERNEL;
  const k = opts.kernel ?? (env && env.length > 0 ? env : '6.18');
  if (!isKernelName(k)) throw new Error(`KSFT_KERNEL: unknown kernel profile '${k}' (expected ${KERNEL_NAMES.join(', ')})`);
  const profile = kernelProfile(k, opts.vmMemoryAttributes ?? parseVmMemoryAttributes(process.env.KSFT_VM_MEMORY_ATTRIBUTES));
  const bits = opts.maxPhysBits ?? 52;
  if (!Number.isInteger(bits) || bits < 32 || bits > 52) throw new Error(`maxPhysBits: ${bits} is not an integer in 32..52`);
  const nodes = opts.numaNodes ?? parseNumaNodes(process.env.KSFT_NUMA_NODES);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NUMNODES) throw new Error(`numaNodes: ${nodes} is not an integer in 1..${MAX_NUMNODES}`);
  return { profile, maxPhysBits: bits, numaNodes: nodes, devKvm: opts.devKvm ?? true };
}

/** KSFT_NUMA_NODES: the simulated host's NUMA node count, 1 when unset. */
export function parseNumaNodes(v: string | undefined): number {
  if (v === undefined || v === '') return 1;
  if (!/^[0-9]{1,2}$/.test(v)) throw new Error(`KSFT_NUMA_NODES: invalid value '${v}' (expected 1..${MAX_NUMNODES})`);
  return Number(v);
}

/** KSFT_VM_MEMORY_ATTRIBUTES as the module parameter spells a bool (Y/N/1/0), undefined when unset. */
export function parseVmMemoryAttributes(v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^(y|Y|1)$/.test(v)) return true;
  if (/^(n|N|0)$/.test(v)) return false;
  throw new Error(`KSFT_VM_MEMORY_ATTRIBUTES: invalid value '${v}' (expected Y|N|1|0)`);
}
