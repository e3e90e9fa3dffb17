/**
 * The platform seam of the model backend.
 *
 * The model owns the common KVM machinery (fds, memslots, guest_memfd,
 * attributes, KVM_RUN, the uAPI validation order). Everything that differs
 * per VM type goes through one `ModelPlatform` registered for that type:
 *
 *  - static traits: `hasPrivateMem` (kvm_arch_has_private_mem()), the
 *    guest_memfd flags the type accepts, whether KVM_PRE_FAULT_MEMORY is
 *    allowed;
 *  - per-VM behaviour: `attach(ctx)` returns a `PlatformVm` bound to one VM,
 *    free to keep its own state (guest page-table view, launch state, RMP,
 *    ownership) in the closure.
 *
 * The model names no platform: every VM type it accepts, DEFAULT included,
 * is a ModelPlatform an entry point registered (platforms/<name>/model.ts
 * through the loader: lib/kvm_util/platform_types.ts registers them all
 * with `registerModelPlatformSource()`). A backend made before anything
 * registered accepts no VM type, as a KVM without a vendor module would not.
 *
 * Hooks see the VM only through `PlatformVmContext`: reading and writing the
 * backing of a guest page, the attribute state, the slot covering a GPA and
 * the host address space. They never see the model's internal objects.
 *
 * Conventions:
 * - GPAs given to hooks are untagged (no TDX shared bit, no C-bit); the
 *   access's `view` carries the marker.
 * - Returning `undefined` from an optional hook means "the common KVM
 *   behaviour applies".
 * - A hook must not throw; a thrown exception is reported by the model as
 *   KVM_EXIT_INTERNAL_ERROR (vCPU paths) or -1/EINVAL (ioctl paths).
 */

import type { SysResult, IoctlArg, HostSignal } from '../backend.js';
import type { GuestOp, GuestView } from '../guest_program.js';
import type { KernelProfile } from './profiles.js';

/** A guest memory access of one page (or part of one), as the fault path sees it. */
export interface GuestAccess {
  /** Untagged guest physical address of the first byte. */
  readonly gpa: bigint;
  /** Bytes accessed within the page (1..4096). */
  readonly len: number;
  readonly write: boolean;
  /** How the guest marked the access (GuestOp `view`). */
  readonly view: GuestView;
  /** The vCPU index making the access. */
  readonly vcpu: number;
}

/** What backs a guest page: the slot's userspace_addr (shared) or its guest_memfd (private). */
export type Backing = 'shared' | 'private';

/** The memslot covering a GPA, as hooks may see it. */
export interface SlotInfo {
  readonly slot: number;
  readonly gpa: bigint;
  readonly size: bigint;
  readonly flags: number;
  readonly userspaceAddr: bigint;
  /** True when bound to a guest_memfd (KVM_MEM_GUEST_MEMFD). */
  readonly hasGmem: boolean;
  /** 6.18 KVM_MEMSLOT_GMEM_ONLY: all faults served from the (mmap-able) gmem. */
  readonly gmemOnly: boolean;
}

/** A host signal a hook asks the model to raise (HostFault). */
export interface HostFaultSpec {
  readonly signal: HostSignal;
  /** siginfo si_code name: BUS_ADRERR, SEGV_MAPERR, SEGV_ACCERR, ... */
  readonly code: string;
  readonly detail?: string;
}

/**
 * A VM exit a hook raises. `memory_fault` makes KVM_RUN return -1 with
 * `errno` (default EFAULT); every other exit makes KVM_RUN return 0.
 */
export type ExitSpec =
  | { readonly reason: 'memory_fault'; readonly flags: bigint; readonly gpa: bigint; readonly size: bigint; readonly errno?: number }
  | { readonly reason: 'hypercall'; readonly nr: bigint; readonly args: readonly bigint[]; readonly flags: bigint }
  | { readonly reason: 'system_event'; readonly type: number; readonly data: readonly bigint[] }
  | { readonly reason: 'io'; readonly direction: number; readonly size: number; readonly port: number; readonly count: number; readonly data?: Uint8Array }
  | { readonly reason: 'mmio'; readonly physAddr: bigint; readonly len: number; readonly isWrite: boolean; readonly data?: Uint8Array }
  | { readonly reason: 'shutdown' }
  | { readonly reason: 'internal_error'; readonly suberror: number; readonly data?: readonly bigint[] }
  /**
   * KVM_RUN fails with `errno` and no exit of its own: kvm_run.exit_reason
   * reads KVM_EXIT_UNKNOWN, as arm64's kvm_arch_vcpu_ioctl_run() leaves it
   * when a handler returns an error (pKVM's poisoned page: -EFAULT).
   */
  | { readonly reason: 'error'; readonly errno: number };

/**
 * The result of a `platform` guest op.
 * - `done`: handled without an exit (e.g. at EL2 or in the TDX module);
 *   `status` is checked against the op's `expect`.
 * - `exit`: leave to userspace. With `retry`, the next KVM_RUN executes the
 *   op again (a faulting instruction); otherwise `resume` turns what
 *   userspace left in kvm_run (e.g. `hypercall.ret`) into the op's status.
 *   With both, `resume` sees userspace's answer first and the op then runs
 *   again (an op that exits several times: TDX MapGPA chunks, SNP PSC runs).
 * - `fatal`: the guest dies (e.g. SNP #VC on an unvalidated page): the model
 *   reports the exit given (SHUTDOWN when omitted) and the vCPU stops.
 */
export type PlatformOpOutcome =
  | { readonly kind: 'done'; readonly status?: bigint }
  | { readonly kind: 'exit'; readonly exit: ExitSpec; readonly retry?: boolean; readonly resume?: (run: ResumeView) => bigint | undefined }
  | { readonly kind: 'fatal'; readonly exit?: ExitSpec };

/** What `resume` may read back from kvm_run after userspace handled the exit. */
export interface ResumeView {
  readonly hypercallRet: bigint;
  readonly bytes: Uint8Array;
}

/** A `platform` guest op, as recorded in the guest program. */
export type PlatformGuestOp = Extract<GuestOp, { op: 'platform' }>;

/** Read-only view of the model state a hook may consult, plus the few writes it may make. */
export interface PlatformVmContext {
  readonly vmType: number;
  readonly profile: KernelProfile;
  /** The VM's KVM_MEMORY_ATTRIBUTE_* for the GFN of `gpa` (0 = shared). */
  attributes(gpa: bigint): bigint;
  /**
   * Replace the attributes of [gpa, gpa+size) (page-aligned), as
   * KVM_SET_MEMORY_ATTRIBUTES would after validation. For platforms that
   * convert inside KVM (pKVM at EL2) or in a launch flow.
   */
  setAttributes(gpa: bigint, size: bigint, attributes: bigint): void;
  /** The memslot covering `gpa`, if any. */
  slotAt(gpa: bigint): SlotInfo | undefined;
  /**
   * Read `len` bytes (within one page) of the given backing of `gpa`.
   * Returns undefined if that backing does not exist (no slot, no gmem,
   * unallocated shared HVA reads as zeros and is not undefined).
   */
  readBacking(gpa: bigint, len: number, backing: Backing): Uint8Array | undefined;
  /** Write bytes (within one page) to the given backing; false if it does not exist. */
  writeBacking(gpa: bigint, data: Uint8Array, backing: Backing): boolean;
  /** Host memory at an HVA, as the VMM process sees it (a launch source buffer). */
  hostRead(hva: bigint, len: number): Uint8Array | HostFaultSpec;
  /**
   * Write host memory at an HVA as the kernel does on the VMM's behalf
   * (copy_to_user of a launch measurement, SEV's in-place encryption of a
   * LAUNCH_UPDATE_DATA region). Optional so that older contexts still
   * type-check; a platform treats its absence as -EFAULT.
   */
  hostWrite?(hva: bigint, data: Uint8Array): HostFaultSpec | undefined;
  /** The bitmask enabled with KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL). */
  readonly exitHypercallMask: bigint;
  /** Number of vCPUs created so far. */
  readonly nrVcpus: number;
}

/** The vCPU-side context of a `platform` op: the VM context plus this vCPU's registers. */
export interface PlatformVcpuContext extends PlatformVmContext {
  readonly vcpu: number;
  /** General-purpose registers by name (rax, rbx, rcx, rdx, rsi, rdi, r8..r15). */
  reg(name: string): bigint;
  setReg(name: string, value: bigint): void;
}

/** Where a host access to a memslot's shared HVA lands. */
export interface HostAccess {
  readonly hva: bigint;
  readonly len: number;
  readonly write: boolean;
  /** The slot whose userspace_addr range covers `hva`, and the GPA there. */
  readonly slot: SlotInfo;
  readonly gpa: bigint;
}

/** Per-VM behaviour of a platform. Every hook but `isPrivateAccess` is optional. */
export interface PlatformVm {
  /**
   * fault->is_private for this access (arch/x86/kvm/mmu/mmu.c,
   * kvm_mmu_page_fault() / kvm_faultin_pfn()). SW_PROTECTED copies the
   * attribute; TDX, SNP and CCA take it from the access's marker (`view`,
   * with 'auto' meaning the guest's own page tables); DEFAULT is always shared.
   * When it differs from the attribute the model exits with MEMORY_FAULT.
   */
  isPrivateAccess(access: GuestAccess): boolean;

  /** Execute a `platform` guest op (accept, PVALIDATE, PSC, MEM_SHARE, RSI ...). */
  guestOp?(vcpu: PlatformVcpuContext, op: PlatformGuestOp): PlatformOpOutcome;

  /**
   * Called before a guest access that passed the common checks, with the
   * backing chosen. Return an exit to stop the access (e.g. TDX pending page,
   * CCA RIPAS EMPTY, SNP not validated) or `undefined` to proceed.
   */
  beforeGuestAccess?(access: GuestAccess, backing: Backing): PlatformOpOutcome | undefined;

  /** Bytes the guest stores, as they land in the backing (SEV: ciphertext for a C-bit write). */
  encodeGuestWrite?(access: GuestAccess, backing: Backing, data: Uint8Array): Uint8Array;
  /** Bytes the guest loads, from what the backing holds (SEV: decrypt a C-bit read). */
  decodeGuestRead?(access: GuestAccess, backing: Backing, data: Uint8Array): Uint8Array;

  /**
   * A host access to a memslot's shared HVA (pKVM donated page → SIGSEGV
   * SEGV_ACCERR). Return a fault to raise it; `undefined` for a plain access.
   */
  hostAccess?(access: HostAccess): HostFaultSpec | undefined;
  /** Transform bytes a host read returns from a memslot's shared HVA (in place). */
  hostReadFilter?(access: HostAccess, data: Uint8Array): void;

  /** Whether KVM_PRE_FAULT_MEMORY is allowed now (TDX after finalise). Overrides the static trait. */
  preFaultAllowed?(): boolean;

  /**
   * [7.4] KVM_SET_MEMORY_ATTRIBUTES2 converted the guest_memfd pages behind
   * [gpa, gpa+size) (after onZap(..., 'attributes')). `existing` are the GPAs
   * of the pages the gmem holds: kvm_gmem_invalidate() calls
   * kvm_arch_gmem_invalidate() on those folios towards shared, which is where
   * SNP returns the page to the hypervisor (RMP) and TDX's removal cleared it.
   * The platform may rewrite their bytes through writeBacking().
   */
  onGmemConvert?(gpa: bigint, size: bigint, toPrivate: boolean, existing: readonly bigint[]): void;

  /** A VM ioctl the common code does not know (KVM_MEMORY_ENCRYPT_OP ...). undefined → ENOTTY. */
  vmIoctl?(request: number, arg: IoctlArg | undefined): SysResult | undefined;
  /** A vCPU ioctl the common code does not know. undefined → ENOTTY. */
  vcpuIoctl?(vcpu: PlatformVcpuContext, request: number, arg: IoctlArg | undefined): SysResult | undefined;
  /** KVM_CHECK_EXTENSION at VM scope; undefined → the common answer. */
  checkExtension?(cap: number): number | undefined;
  /**
   * Called at the start of every KVM_RUN, before the guest executes. Return
   * an errno to fail KVM_RUN with it (TDX before KVM_TDX_FINALIZE_VM:
   * tdx_vcpu_pre_run() gives -EINVAL); a CCA realm activates on its first run.
   */
  beforeRun?(vcpu: number): number | undefined;
  /**
   * Called after KVM zapped guest mappings of [gpa, gpa+size): a punch hole
   * in the backing gmem ('punch') or an attribute change ('attributes').
   * Platforms that keep per-page state beside the mapping (TDX accepted
   * pages, the SNP RMP, CCA RIPAS) drop it here, as the S-EPT/NPT/RTT entry
   * goes away with the zap.
   */
  onZap?(gpa: bigint, size: bigint, reason: 'punch' | 'attributes'): void;
  /**
   * kvm_arch_vcpu_create() for this VM type, after the id checks and before
   * the duplicate-id check of kvm_vm_ioctl_create_vcpu(): an errno refuses
   * the vCPU (TDX: tdx_vcpu_create() before KVM_TDX_INIT_VM), `undefined`
   * lets it be created.
   */
  vcpuCreate?(vcpu: number): number | undefined;
  /** Called when KVM_CREATE_VCPU succeeds. */
  onVcpuCreate?(vcpu: number): void;
  /** Called once when the last reference to the VM goes away. */
  onDestroy?(): void;
}

/** A VM type's platform: static traits plus a per-VM factory. */
export interface ModelPlatform {
  /** Short name for logs: 'default', 'sw_protected', 'tdx', ... */
  readonly name: string;
  /** kvm_arch_has_private_mem(): PRIVATE attribute and private gmem backing exist. */
  readonly hasPrivateMem: boolean;
  /**
   * kvm->arch.has_protected_state (set by sev_vm_init() for SEV-ES and SNP,
   * tdx_vm_init() for TDX): the guest's register state is out of KVM's
   * reach, and check_memory_region_flags() refuses KVM_MEM_READONLY.
   */
  readonly hasProtectedState?: boolean;
  /**
   * GUEST_MEMFD_FLAG_* this type accepts under `profile`
   * (KVM_CAP_GUEST_MEMFD_FLAGS at VM scope). Omit for the profile's rule.
   */
  gmemFlags?(profile: KernelProfile): bigint;
  /** KVM_PRE_FAULT_MEMORY allowed (x86: DEFAULT and SW_PROTECTED; CoCo types only after finalise). */
  readonly preFault: boolean;
  /** Bind the platform to a new VM. */
  attach(ctx: PlatformVmContext): PlatformVm;
  /**
   * Optional: a VM ioctl issued on a VM of *another* type that this
   * platform's vendor module still answers (SVM's KVM_MEMORY_ENCRYPT_OP
   * gives EINVAL for KVM_SEV_INIT2 on a default VM). Consulted after the VM's
   * own platform declined.
   */
  foreignVmIoctl?(ctx: PlatformVmContext, request: number, arg: IoctlArg | undefined): SysResult | undefined;
  /**
   * Optional: a /dev/kvm device attribute of a non-zero group this
   * platform's vendor module reports (x86 KVM_GET_DEVICE_ATTR →
   * kvm_x86_ops.dev_get_attr; SVM: KVM_X86_GRP_SEV). undefined → not
   * this platform's; the answers of all platforms are OR-ed.
   */
  devAttr?(group: number, attr: bigint): bigint | undefined;
}

/**
 * The registry: VM type → platform. A backend starts from
 * `initialPlatforms()`, so `registerModelPlatform()` before
 * `createModelBackend()` applies to every backend, and
 * `backend.registerPlatform()` to one.
 * Types below 32 appear in KVM_CAP_VM_TYPES; others (arm64 pKVM `1<<31`,
 * CCA) are accepted by KVM_CREATE_VM once registered.
 */
export class PlatformRegistry {
  private readonly byType = new Map<number, ModelPlatform>();

  register(type: number, platform: ModelPlatform): void {
    this.byType.set(type >>> 0, platform);
  }

  unregister(type: number): void {
    this.byType.delete(type >>> 0);
  }

  get(type: number): ModelPlatform | undefined {
    return this.byType.get(type >>> 0);
  }

  types(): number[] {
    return [...this.byType.keys()];
  }

  all(): ModelPlatform[] {
    return [...this.byType.values()];
  }

  /** KVM_CAP_VM_TYPES: BIT(type) for each registered type below 32. */
  vmTypesMask(): number {
    let m = 0;
    for (const t of this.byType.keys()) if (t < 32) m |= 1 << t;
    return m >>> 0;
  }

  clone(): PlatformRegistry {
    const r = new PlatformRegistry();
    for (const [t, p] of this.byType) r.register(t, p);
    return r;
  }
}

/** The process-wide registry new backends copy. */
export const globalPlatforms = new PlatformRegistry();

/** Register a platform for a VM type in every backend created afterwards. */
export function registerModelPlatform(type: number, platform: ModelPlatform): void {
  globalPlatforms.register(type, platform);
}

/** VM types and their platforms, asked for each time a backend is made. */
export type ModelPlatformSource = () => Iterable<readonly [number, ModelPlatform]>;

const sources: ModelPlatformSource[] = [];

/**
 * Give every backend created afterwards these platforms. A source rather
 * than a list, so that building them (validating the platforms'
 * manifests) waits for the first model backend: a program on the real
 * /dev/kvm never pays for it.
 */
export function registerModelPlatformSource(source: ModelPlatformSource): void {
  sources.push(source);
}

/** The registry a new backend starts from: the sources' platforms, then registerModelPlatform()'s over them. */
export function initialPlatforms(): PlatformRegistry {
  const r = new PlatformRegistry();
  for (const source of sources) for (const [type, platform] of source()) r.register(type, platform);
  for (const type of globalPlatforms.types()) r.register(type, globalPlatforms.get(type)!);
  return r;
}
