/**
 * What every per-platform collection (tests/coco/<platform>) sets up: a VM
 * of the plugin's type with one vCPU and a guest_memfd-backed test region,
 * on the process's backend with the plugin's behaviour registered (with
 * hardware overrides when a scenario needs other [H] parameters).
 */
import type { GuestCode } from '../guest/builder.js';
import { isModelBackend } from '../kvm/model/index.js';
import { KVM_CAP_EXIT_HYPERCALL, KVM_HC_MAP_GPA_RANGE, KVM_MEM_GUEST_MEMFD, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../kvm/uapi.js';
import {
  TEST_ASSERT, TEST_REQUIRE, __vmCreateWithVcpus, kvmBackend, kvmClose, vmCreateGuestMemfd, vmEnableCap, vmMemAdd, vmShape, VM_MEM_SRC_ANONYMOUS,
  type KvmVcpu, type KvmVm, type MemRegion,
} from '../kvm_util/index.js';
import { SKIP, isSkipReturn } from '../harness/index.js';
import { loadPlatform } from './loader.js';
import { probePlatform } from './probe.js';
import type { HardwareParams } from './manifest.js';
import type { PlatformPlugin } from './types.js';

/** Where the test region lives: slot 10 at 4 GiB, as the upstream private-memory tests do. */
export const COCO_TEST_SLOT = 10;
export const COCO_TEST_GPA = 1n << 32n;

export interface CocoVmOptions {
  /** Pages of the test region (default 16). */
  readonly npages?: number;
  /** Bind the region to a guest_memfd (default true). */
  readonly gmem?: boolean;
  /** Enable KVM_CAP_EXIT_HYPERCALL for MAP_GPA_RANGE (x86; default true). */
  readonly exitHypercall?: boolean;
  /** GUEST_MEMFD_FLAG_* for the region's guest_memfd (default 0). */
  readonly gmemFlags?: bigint;
  /** [H] parameter overrides for this VM's platform behaviour. */
  readonly hardware?: HardwareParams;
}

export interface CocoVm {
  readonly plugin: PlatformPlugin;
  readonly vm: KvmVm;
  readonly vcpu: KvmVcpu;
  readonly region: MemRegion | undefined;
  readonly gpa: bigint;
}

/** The plugin `name`, registered with this process's model backend (overrides applied). */
export function usePlatform(name: string, hardware?: HardwareParams): PlatformPlugin {
  const plugin = loadPlatform(name, hardware ? { hardware } : {});
  const b = kvmBackend();
  // The model takes the plugin's behaviour; a real KVM must offer the platform.
  if (isModelBackend(b)) b.registerPlatform(plugin.vmType, plugin.model);
  const skip = probePlatform(plugin, b);
  if (skip !== null) skipPlatform(skip);
  return plugin;
}

/**
 * Skip the way the caller runs: SKIP() inside a kselftest_harness test (the
 * collections), TEST_REQUIRE's `1..0 # SKIP` in a plain program.
 */
function skipPlatform(reason: string): never {
  try {
    SKIP('%s', `Requirement not met: ${reason}`);
  } catch (e) {
    if (isSkipReturn(e)) throw e;
  }
  TEST_REQUIRE(false, reason);
  throw new Error(reason);
}

export function cocoVmCreate(name: string, guestCode: GuestCode | undefined, opts: CocoVmOptions = {}): CocoVm {
  const plugin = usePlatform(name, opts.hardware);
  const { vm, vcpus } = __vmCreateWithVcpus(vmShape(plugin.vmType), 1, 0, guestCode);
  if (plugin.manifest.arch === 'x86_64' && opts.exitHypercall !== false) {
    vmEnableCap(vm, KVM_CAP_EXIT_HYPERCALL, 1 << KVM_HC_MAP_GPA_RANGE);
  }
  const npages = opts.npages ?? 16;
  let region: MemRegion | undefined;
  if (npages > 0 && opts.gmem !== false && opts.gmemFlags) {
    const fd = vmCreateGuestMemfd(vm, npages * 4096, opts.gmemFlags);
    region = vmMemAdd(vm, VM_MEM_SRC_ANONYMOUS, COCO_TEST_GPA, COCO_TEST_SLOT, npages, KVM_MEM_GUEST_MEMFD, fd, 0);
    kvmClose(fd);
  } else if (npages > 0) {
    region = vmMemAdd(vm, VM_MEM_SRC_ANONYMOUS, COCO_TEST_GPA, COCO_TEST_SLOT, npages, opts.gmem === false ? 0 : KVM_MEM_GUEST_MEMFD);
  }
  return { plugin, vm, vcpu: vcpus[0]!, region, gpa: COCO_TEST_GPA };
}

/** A page of the VMM's own memory filled with `pattern`: a populate source. */
export function sourcePage(pattern: number, pages = 1): bigint {
  const b = kvmBackend();
  const m = b.mmap(0n, BigInt(pages * 4096), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  TEST_ASSERT(m.errno === 0, `mmap of a source buffer failed: errno ${m.errno}`);
  b.hostFill(m.addr, pages * 4096, pattern);
  return m.addr;
}
