/**
 * What every per-platform collection (tests/coco/<platform>) sets up: a VM
 * of the plugin's type with one vCPU and a guest_memfd-backed test region,
 * on the process's backend with the plugin's behaviour registered (with
 * hardware overrides when a scenario needs other [H] parameters); and the
 * host half of the portable conversion call (vcpuRunConversion()).
 *
 * Part of kvm_util rather than lib/platform: it asserts, creates VMs and
 * reads ucalls, which the platform layer below kvm_util must not do.
 */
import type { GuestCode } from '../guest/builder.js';
import { HostFault, type HostSignal, type SysResult } from '../kvm/backend.js';
import { errnoName } from '../kvm/errno.js';
import type { Backend } from '../kvm/backend.js';
import type { KernelName } from '../kvm/model/index.js';
import {
  KVM_CAP_EXIT_HYPERCALL, KVM_EXIT_HYPERCALL, KVM_EXIT_IO, KVM_EXIT_MEMORY_FAULT, KVM_HC_MAP_GPA_RANGE, KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_ATTRIBUTE_PRIVATE, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, UCALL_ABORT, UCALL_DONE, UCALL_NONE, UCALL_PRINTF,
  UCALL_PIO_PORT, UCALL_SYNC,
} from '../kvm/uapi.js';
import { EFAULT } from '../kvm/errno.js';
import {
  UCALL_CONVERSION_NOTE, conversionNote, loadPlatform, loadPlatformOrExit, probePlatform, type ConversionRequest, type GuestConversion, type HardwareParams,
  type PlatformPlugin,
} from '../platform/index.js';
import { KVM_IOCTL_ERROR, TEST_ASSERT, TEST_ASSERT_EQ, TEST_FAIL, TEST_REQUIRE, testAssertAt } from './assert.js';
import { vmSetMemoryAttributes } from './attributes.js';
import { vmEnableCap } from './caps.js';
import { describeExit } from './exit_info.js';
import { vmCreateGuestMemfd, vmGuestMemPunchHole } from './gmem.js';
import { kvmBackend, requireModel, setKvmBackend } from './kvm_dev.js';
import { VM_MEM_SRC_ANONYMOUS, vmMemAdd } from './memslots.js';
import { ksftEnv } from './options.js';
import { kvmClose } from './syscalls.js';
import { gpa as asGpa, hva as asHva, type Gpa, type Hva } from './types.js';
import { REPORT_GUEST_ASSERT, getUcall, type Ucall } from './ucall.js';
import { _vcpuRun, vcpuArgsSet } from './vcpu.js';
import { vmShape, type KvmVcpu, type KvmVm, type MemRegion } from './vm.js';
import { __vmCreateWithVcpus, type VmPostCreate } from './vm_create.js';

/** The memslot of the test region: slot 10, as the upstream private-memory tests use. */
export const COCO_TEST_SLOT = 10;
/** Where the test region starts: 4 GiB, above slot 0's guest code and ucall pages. */
export const COCO_TEST_GPA: Gpa = asGpa(1n << 32n);

/** What cocoVmCreate() builds besides the VM and its vCPU. */
export interface CocoVmOptions {
  /** Pages of the test region (default 16). */
  readonly npages?: number;
  /** Bind the region to a guest_memfd (default true). */
  readonly gmem?: boolean;
  /** Enable the conversion exit the platform's manifest names (`conversion.enableCap`: KVM_CAP_EXIT_HYPERCALL for MAP_GPA_RANGE; default true). */
  readonly exitHypercall?: boolean;
  /** GUEST_MEMFD_FLAG_* for the region's guest_memfd (default 0). */
  readonly gmemFlags?: bigint;
  /** [H] parameter overrides for this VM's platform behaviour. */
  readonly hardware?: HardwareParams;
  /**
   * What runs after KVM_CREATE_VM and before the vCPU, instead of
   * kvm_arch_vm_post_create() (KVM_SEV_INIT2, KVM_TDX_INIT_VM with defaults):
   * a test that issues that step with parameters of its own.
   */
  readonly postCreate?: VmPostCreate;
}

/** A VM from cocoVmCreate(): its platform, the VM, its one vCPU and the test region. */
export interface CocoVm {
  /** The platform plugin (conversion protocol, manifest, launch). */
  readonly plugin: PlatformPlugin;
  readonly vm: KvmVm;
  readonly vcpu: KvmVcpu;
  /** The test region's memslot (undefined with `npages: 0`). */
  readonly region: MemRegion | undefined;
  /** First GPA of the test region (COCO_TEST_GPA); also the guest code's argument. */
  readonly gpa: Gpa;
}

/**
 * The platform this run is for: KSFT_PLATFORM (a built-in name or a
 * plugin path; default sw_protected). A bad value is one line and exit 1.
 */
export function ksftPlatform(): string {
  return ksftEnv().KSFT_PLATFORM;
}

/**
 * KSFT_PLATFORM's plugin, loaded but not probed: for a test that states
 * its own requirements (requirePlatformVmType(), requireConversion()) in
 * the C test's words. A bad plugin is one line and exit 1.
 */
export function ksftPlatformPlugin(): PlatformPlugin {
  return loadPlatformOrExit(ksftPlatform());
}

/** The plugin `name`, registered with this process's model backend (overrides applied). */
export function usePlatform(name: string, hardware?: HardwareParams): PlatformPlugin {
  const plugin = loadPlatform(name, hardware ? { hardware } : {});
  const b = kvmBackend();
  // The model takes the plugin's behaviour; a real KVM must offer the platform.
  b.model?.registerPlatform(plugin.vmType, plugin.model);
  const skip = probePlatform(plugin, b);
  if (skip !== null) skipPlatform(skip);
  return plugin;
}

/**
 * TEST_REQUIRE(false, reason): `1..0 # SKIP` in a plain program, the
 * test's own SKIP inside a kselftest_harness TEST (the collections).
 */
function skipPlatform(reason: string): never {
  TEST_REQUIRE(false, reason);
  throw new Error(reason);
}

/**
 * A VM of platform `name` with one vCPU and the test region. The guest code,
 * if any, gets the region's GPA as its argument (vcpu_args_set(vcpu, 1, gpa)
 * in the upstream private-memory tests). An SEV, SEV-ES or SNP VM comes back
 * initialised: __vmCreate() ran KVM_SEV_INIT2 before the vCPU was created
 * (kvm_arch_vm_post_create()), the only order __sev_guest_init() accepts;
 * the caller goes on with LAUNCH_START. A TD likewise comes back after
 * KVM_TDX_INIT_VM (tdx_vcpu_create() refuses a vCPU before it); the caller
 * goes on with KVM_TDX_INIT_VCPU. `opts.postCreate` replaces that step.
 */
export function cocoVmCreate(name: string, guestCode: GuestCode | undefined, opts: CocoVmOptions = {}): CocoVm {
  const plugin = usePlatform(name, opts.hardware);
  const { vm, vcpus } = __vmCreateWithVcpus(vmShape(plugin.vmType), 1, 0, guestCode, opts.postCreate);
  if (opts.exitHypercall !== false) vmEnableConversionExits(vm, plugin);
  const npages = opts.npages ?? 16;
  let region: MemRegion | undefined;
  if (npages > 0 && opts.gmem !== false && opts.gmemFlags) {
    const fd = vmCreateGuestMemfd(vm, npages * 4096, opts.gmemFlags);
    region = vmMemAdd(vm, VM_MEM_SRC_ANONYMOUS, COCO_TEST_GPA, COCO_TEST_SLOT, npages, KVM_MEM_GUEST_MEMFD, fd, 0);
    kvmClose(fd);
  } else if (npages > 0) {
    region = vmMemAdd(vm, VM_MEM_SRC_ANONYMOUS, COCO_TEST_GPA, COCO_TEST_SLOT, npages, opts.gmem === false ? 0 : KVM_MEM_GUEST_MEMFD);
  }
  const vcpu = vcpus[0]!;
  if (guestCode) vcpuArgsSet(vcpu, COCO_TEST_GPA);
  return { plugin, vm, vcpu, region, gpa: COCO_TEST_GPA };
}

/**
 * The least launch that lets the vCPU run, asserted: INIT_VCPU and
 * FINALIZE_VM for a TD, SNP_LAUNCH_START/FINISH, SEV's LAUNCH_START through
 * LAUNCH_FINISH; nothing on SW_PROTECTED, the default VM, pKVM or CCA. For
 * tests that bring no payload of their own; call it after the guest code
 * is set and before the first KVM_RUN (cocoVmCreate() already ran the
 * post-create step: KVM_SEV_INIT2, KVM_TDX_INIT_VM).
 *
 * @example
 * ```ts
 * const c = cocoVmCreate('tdx', (g) => g.done());
 * cocoLaunch(c);
 * await runToUcall(c.vcpu, UCALL_DONE);
 * ```
 */
export function cocoLaunch(c: Pick<CocoVm, 'plugin' | 'vm'>): void {
  const r = c.plugin.launchMinimal(c.vm.backend, c.vm.fd, c.vm.vcpus.map((v) => v.fd));
  TEST_ASSERT(r.ret === 0, `${c.plugin.name}: the minimal launch failed: ${KVM_IOCTL_ERROR('launch', r.ret, r.errno)}`);
}

/**
 * The plugin's (default: KSFT_PLATFORM's) guest conversion protocol (MapGPA + ACCEPT on TDX, PSC +
 * PVALIDATE on SNP, the raw KVM_HC_MAP_GPA_RANGE on SW_PROTECTED,
 * RSI_IPA_STATE_SET on CCA), or a skip naming the platform where guests
 * cannot ask the host to convert (SEV flips its C-bit alone, pKVM shares at
 * EL2, the default VM has no private memory).
 *
 * @example
 * ```ts
 * const conv = requireConversion(loadPlatform('snp')); // default: KSFT_PLATFORM's plugin
 * const program = recordGuestProgram((g) => conv.convert(g, COCO_TEST_GPA, 4096n, true));
 * TEST_ASSERT_EQ(program.ops.length, 2); // PSC, then PVALIDATE
 * ```
 */
export function requireConversion(plugin: PlatformPlugin = ksftPlatformPlugin()): GuestConversion {
  const skip = plugin.genericConversionSkip();
  if (skip !== null || !plugin.conversion) skipPlatform(skip ?? `${plugin.name}: no guest conversion protocol`);
  return plugin.conversion;
}

/**
 * Make a model of another kernel release this process's backend (a
 * scenario that needs 7.4's per-guest_memfd attributes whatever
 * KSFT_KERNEL says), with the same platform behaviour registered;
 * `vmMemoryAttributes` sets kvm.vm_memory_attributes. Another backend
 * skips: a real host runs the kernel it runs.
 */
export function useModelKernel(kernel: KernelName, vmMemoryAttributes?: boolean): Backend {
  const b = requireModel(`kernel profile ${kernel}`).withKernel(kernel, vmMemoryAttributes).backend;
  setKvmBackend(b);
  return b;
}

/** What one KVM_RUN of __vcpuRunConversion() came back with. */
export interface ConversionRun {
  /** KVM_RUN's result (the last one: notes on the way were run past). */
  readonly r: SysResult;
  /** The request this exit carries, with the test's flags; null for any other exit. */
  readonly req: ConversionRequest | null;
}

/** Whether the exit is a ucall whose command is the conversion note. */
function noteArgs(vcpu: KvmVcpu): readonly bigint[] | null {
  const run = vcpu.run;
  if (run.exitReason !== KVM_EXIT_IO || run.ioPort !== UCALL_PIO_PORT) return null;
  const uc = getUcall(vcpu);
  return uc.cmd === UCALL_CONVERSION_NOTE ? uc.args : null;
}

/**
 * KVM_RUN as the host half of the portable conversion call: a note the
 * guest's convert() left before its platform call is taken in and the vCPU
 * run on, so what comes back is the next exit that is not a note, with
 * `req` the conversion request it carries (the test's flags included, from
 * a2 or from the note) or null. Raw: KVM_RUN's result is not asserted.
 */
export async function __vcpuRunConversion(vcpu: KvmVcpu, conv: GuestConversion): Promise<ConversionRun> {
  for (;;) {
    const r = await _vcpuRun(vcpu);
    const note = r.ret === 0 ? noteArgs(vcpu) : null;
    if (note) {
      const req = conversionNote(vcpu.run, note);
      if (req) return { r, req };
      continue;
    }
    const req = conv.decodeExit(vcpu.run);
    // A conversion request is a hypercall exit (x86) or, on CCA, the
    // memory-fault exit that KVM_RUN returns with -1/EFAULT.
    const isConversion = req !== null && (r.ret === 0 ? vcpu.run.exitReason === KVM_EXIT_HYPERCALL : r.errno === EFAULT);
    return { r, req: isConversion ? req : null };
  }
}

/**
 * __vcpuRunConversion(), asserting that KVM_RUN succeeded unless the exit
 * is a conversion request: the request, or null for the test's own exits
 * (a ucall) to handle. Answer a request with `conv.complete(vcpu.run, 0n)`
 * once the host followed it.
 *
 * @example
 * ```ts
 * const c = cocoVmCreate(ksftPlatform(), (g) => {
 *   requireConversion().convert(g, COCO_TEST_GPA, 4096, true, 0x5n);
 *   g.done();
 * });
 * cocoLaunch(c);
 * const conv = requireConversion(c.plugin);
 * const req = await vcpuRunConversion(c.vcpu, conv);
 * TEST_ASSERT(req, 'a conversion request');
 * TEST_ASSERT_EQ(req.flags, 0x5n); // on every platform that converts
 * vmMemSetPrivate(c.vm, req.gpa, req.size);
 * conv.complete(c.vcpu.run, 0n);
 * await runToUcall(c.vcpu, UCALL_DONE, { serve: c.plugin });
 * ```
 */
export async function vcpuRunConversion(vcpu: KvmVcpu, conv: GuestConversion): Promise<ConversionRequest | null> {
  const { r, req } = await __vcpuRunConversion(vcpu, conv);
  if (!req) testAssertAt(r.ret === 0, '!ret', `${KVM_IOCTL_ERROR('KVM_RUN', r.ret, r.errno)}\n  ${describeExit(vcpu)}`, SELF);
  return req;
}

/**
 * Let the platform's conversion call reach this VMM: the capability its
 * manifest names (`conversion.enableCap`), as the upstream test's
 * vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL, BIT(KVM_HC_MAP_GPA_RANGE));
 * without it TDX's MapGPA fails in the guest and KVM answers the raw
 * hypercall -KVM_ENOSYS. Nothing where the request is a memory-fault exit
 * (CCA).
 */
export function vmEnableConversionExits(vm: KvmVm, plugin: PlatformPlugin): void {
  if (plugin.manifest.conversion.enableCap === 'KVM_CAP_EXIT_HYPERCALL') vmEnableCap(vm, KVM_CAP_EXIT_HYPERCALL, 1 << KVM_HC_MAP_GPA_RANGE);
}

/** How runToUcall() answers the exits on the way to the ucall. */
export interface RunToUcallOptions {
  /**
   * Answer the platform's conversion requests on the way as a VMM does:
   * the plugin's conversion decodes the exit, the range's attributes
   * follow it, the call returns 0. A request() that converts nothing is
   * answered without touching the attributes.
   */
  readonly serve?: PlatformPlugin;
  /** While serving: a conversion to shared also punches the pages out of the guest_memfd. */
  readonly punchOnShare?: boolean;
}

/**
 * KVM_RUN until the guest's next ucall, which must be `want`: a guest
 * assertion on the way is reported at the guest's line, any other exit or
 * ucall fails the test.
 */
export async function runToUcall(vcpu: KvmVcpu, want: number, opts: RunToUcallOptions = {}): Promise<Ucall> {
  const conv = opts.serve?.conversion ?? null;
  for (;;) {
    const { r, req } = conv ? await __vcpuRunConversion(vcpu, conv) : { r: await _vcpuRun(vcpu), req: null };
    if (conv && req) {
      if (req.converts) vmSetMemoryAttributes(vcpu.vm, req.gpa, req.size, req.toPrivate ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0n);
      if (req.converts && opts.punchOnShare && !req.toPrivate) vmGuestMemPunchHole(vcpu.vm, req.gpa, req.size);
      conv.complete(vcpu.run, 0n);
      continue;
    }
    testAssertAt(r.ret === 0, '!ret', `${KVM_IOCTL_ERROR('KVM_RUN', r.ret, r.errno)}\n  ${describeExit(vcpu)}`, SELF);
    const uc = getUcall(vcpu);
    testAssertAt(uc.cmd !== UCALL_NONE, `ucall ${UCALL_NAMES[want] ?? want}`,
      `Wanted ${UCALL_NAMES[want] ?? want}, the vCPU exited without a ucall: ${uc.exit ?? describeExit(vcpu)}` +
      (opts.serve ? '' : exitHint(vcpu)), SELF);
    if (uc.cmd === UCALL_ABORT && want !== UCALL_ABORT) REPORT_GUEST_ASSERT(uc, vcpu);
    testAssertAt(uc.cmd === want, `uc.cmd == ${UCALL_NAMES[want] ?? want}`,
      `Wanted ${UCALL_NAMES[want] ?? want} (${want}), got ${UCALL_NAMES[uc.cmd] ?? 'ucall'} (${uc.cmd})`, SELF);
    return uc;
  }
}

const SELF = ['lib/kvm_util/coco.ts'];
const UCALL_NAMES: Readonly<Record<number, string>> = {
  [UCALL_SYNC]: 'UCALL_SYNC', [UCALL_ABORT]: 'UCALL_ABORT', [UCALL_PRINTF]: 'UCALL_PRINTF', [UCALL_DONE]: 'UCALL_DONE',
};

/** What an unserved conversion request means: the test did not pass `serve`. */
function exitHint(vcpu: KvmVcpu): string {
  const r = vcpu.run;
  if (r.exitReason === KVM_EXIT_HYPERCALL && r.hypercallNr === BigInt(KVM_HC_MAP_GPA_RANGE)) {
    return '\n  (a conversion request: pass { serve: plugin } to runToUcall() to have it answered as a VMM does)';
  }
  return '';
}

/** The KVM_EXIT_MEMORY_FAULT a test expects (fields left out are not checked). */
export interface MemoryFaultExit {
  /** KVM_RUN's errno: EFAULT for a conversion request, EHWPOISON for a memory error. */
  readonly errno: number;
  readonly flags?: bigint;
  readonly gpa?: bigint;
  readonly size?: bigint;
}

/**
 * A finished KVM_RUN `r` that must have been -1/`errno` with
 * KVM_EXIT_MEMORY_FAULT describing the given range (fields left out are
 * not checked).
 */
export function expectMemoryFault(vcpu: KvmVcpu, r: SysResult, e: MemoryFaultExit): void {
  TEST_ASSERT(r.ret === -1 && r.errno === e.errno,
    `KVM_RUN returned ${r.ret}, errno ${errnoName(r.errno)}; expected -1, errno ${errnoName(e.errno)}`);
  TEST_ASSERT_EQ(vcpu.run.exitReason, KVM_EXIT_MEMORY_FAULT);
  if (e.flags !== undefined) TEST_ASSERT_EQ(vcpu.run.memoryFaultFlags, e.flags);
  if (e.gpa !== undefined) TEST_ASSERT_EQ(vcpu.run.memoryFaultGpa, e.gpa);
  if (e.size !== undefined) TEST_ASSERT_EQ(vcpu.run.memoryFaultSize, e.size);
}

/** KVM_RUN once, expecting the memory-fault exit `e`. */
export async function runToMemoryFault(vcpu: KvmVcpu, e: MemoryFaultExit): Promise<void> {
  expectMemoryFault(vcpu, await _vcpuRun(vcpu), e);
}

/**
 * A host access that must take `signal` (with si_code `code` when given),
 * as the VMM touching memory the platform took away does.
 */
export function expectHostFault(access: () => unknown, signal: HostSignal, code?: string): HostFault {
  try {
    access();
  } catch (e) {
    if (!(e instanceof HostFault)) throw e;
    TEST_ASSERT(e.signal === signal, `host access took ${e.signal} (${e.code}), expected ${signal}`);
    if (code !== undefined) TEST_ASSERT(e.code === code, `host access took ${e.signal} (${e.code}), expected ${code}`);
    return e;
  }
  return TEST_FAIL(`host access completed, expected ${signal}`);
}

/** A page of the VMM's own memory filled with `pattern`: a populate source. */
export function sourcePage(pattern: number, pages = 1): Hva {
  const b = kvmBackend();
  const m = b.mmap(0n, BigInt(pages * 4096), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  TEST_ASSERT(m.errno === 0, `mmap of a source buffer failed: errno ${m.errno}`);
  b.hostFill(m.addr, pages * 4096, pattern);
  return asHva(m.addr);
}
