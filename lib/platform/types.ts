/**
 * The platform plugin interface: one object per confidential-computing
 * platform, built from a validated manifest (manifest.ts) plus the code of
 * its behaviour. Three audiences read it:
 *
 *  - the model backend, through `model` (a ModelPlatform for the seam in
 *    lib/kvm/model/platform.ts) registered for `vmType`;
 *  - kvm_util and generic tests (private_mem_conversions_test), through
 *    `conversion`: how a guest asks for a range to change state on this
 *    platform, and how the host decodes that request from the exit;
 *  - test authors, through the manifest's outcomes (what a host access to
 *    private memory does, which launch flow applies) and the typed helpers in
 *    platforms/<name>/guest.ts and launch helpers.
 */
import type { GuestCond, GuestReg, GuestView } from '../kvm/guest_program.js';
import type { Backend, SysResult } from '../kvm/backend.js';
import type { KvmRun } from '../kvm/kvm_run.js';
import type { ModelPlatform } from '../kvm/model/platform.js';
import type { Gpa, GpaArg } from '../kvm/addr.js';
import type { Static } from '@sinclair/typebox';
import type {
  BehaviourName, HardwareParams, HardwareSchema, HostReadOutcome, HostWriteOutcome, PlatformManifest, UnacceptedOutcome,
} from './manifest.js';

/** Argument values a `platform` guest op may carry (program.ts). */
export type PlatformOpArgs = Readonly<Record<string, bigint | number | string | boolean>>;

/**
 * Where guest helpers record operations: the guest program builder
 * satisfies it (`g.platform(...)`, `g.hypercall(...)`). Kept structural so
 * platform helpers do not depend on one builder implementation.
 */
export interface PlatformOpSink {
  platform(call: string, args: PlatformOpArgs, opts?: { readonly expect?: bigint | number; readonly expr?: string; readonly dst?: GuestReg }): void;
  hypercall(nr: bigint | number, args: readonly (bigint | number)[], opts?: { readonly expect?: bigint | number; readonly expr?: string }): void;
  /** ucall(cmd, args): the guest→host message (the flags note of conversions.ts). */
  ucall(cmd: number, args?: readonly bigint[]): void;
  /** A guest register, for a status the guest tests itself. */
  reg(): GuestReg;
  /** GUEST_ASSERT(cond), reporting `message` formatted with `args`. */
  assert(cond: GuestCond, expr: string, message?: string, ...args: GuestReg[]): void;
}

/** A decoded guest request to change the state of a GPA range. */
export interface ConversionRequest {
  /** Untagged GPA (shared bit / C-bit stripped). */
  readonly gpa: Gpa;
  readonly size: bigint;
  readonly toPrivate: boolean;
  /** The page size the guest asked with (PAGE_SZ_2M on an SNP 2M entry). */
  readonly pageSize: 4096 | 0x200000 | 0x40000000;
  /** Raw attribute word (MAP_GPA_RANGE a2; CCA: the memory-fault flags). */
  readonly raw: bigint;
  /**
   * The test's own flags for this request (GuestConversion.convert()'s and
   * request()'s `flags`; 0 when it gave none), whichever way the platform
   * carried them.
   */
  readonly flags: bigint;
  /**
   * Whether the guest changed its side of the range's state with it (the
   * platform's conversion call), so the host must follow; false for
   * GuestConversion.request(), which converts nothing.
   */
  readonly converts: boolean;
}

/**
 * A platform's own conversion protocol, as its folder implements it
 * (platforms/<name>/conversion.ts): the guest call, the exit it reaches
 * the VMM as, and what the guest owes around it. The loader wraps it into
 * the portable GuestConversion (conversions.ts, portableConversion()).
 */
export interface ConversionProtocol {
  /**
   * Record the guest side of converting [gpa, gpa+size): the request
   * (MapGPA, PSC, raw hypercall, RSI) and whatever the guest owes
   * afterwards (TDX ACCEPT, SNP PVALIDATE). `rawFlags` are OR-ed into the
   * MAP_GPA_RANGE attribute word where `passesRawFlags`; other protocols
   * never get any.
   */
  convert(g: PlatformOpSink, gpa: GpaArg, size: bigint | number, toPrivate: boolean, rawFlags?: bigint): void;
  /**
   * The conversion request carried by this exit, or null if the exit is
   * something else; `flags` only where the exit itself carries them.
   */
  decodeExit(run: KvmRun): (Omit<ConversionRequest, 'flags' | 'converts'> & { readonly flags?: bigint }) | null;
  /**
   * Complete the request after the VMM updated attributes: write the status
   * where the platform returns it (hypercall.ret). 0 = success.
   */
  complete(run: KvmRun, status: bigint): void;
  /**
   * Record what the guest owes before touching private pages the VMM
   * punched out from under it (TDX: ACCEPT the re-AUG'ed pages; SNP:
   * PVALIDATE the freshly assigned ones); nothing where a fresh page is
   * simply faulted in (SW_PROTECTED, CCA).
   */
  reacquire(g: PlatformOpSink, gpa: GpaArg, size: bigint | number): void;
  /**
   * Whether the call's exit carries a word KVM does not check (the raw
   * KVM_HC_MAP_GPA_RANGE's a2: arch/x86/kvm/x86.c hands it to userspace
   * as is), so test flags can ride in it (SW_PROTECTED only).
   */
  readonly passesRawFlags: boolean;
  /** Views the guest uses for a private / shared access after a conversion. */
  readonly privateView: GuestView;
  readonly sharedView: GuestView;
}

/**
 * The portable guest conversion call (`PlatformPlugin.conversion`): one
 * call converts a range on whatever platform runs, carrying the test's
 * flags, and the host decodes every platform's request into the same
 * ConversionRequest. `null` on a platform means it has none;
 * genericConversionSkip() says why in kselftest words.
 */
export interface GuestConversion extends Omit<ConversionProtocol, 'convert' | 'decodeExit'> {
  /**
   * Record the guest side of converting [gpa, gpa+size) with the platform's
   * call. `flags` are the test's own host-side intent (set the attributes?
   * fallocate?), opaque to the platform: in the MAP_GPA_RANGE attribute
   * word where KVM passes it through (SW_PROTECTED, as the upstream test
   * does), elsewhere in a note ucall just before the call (TDX MapGPA, SNP
   * PSC and CCA RSI_IPA_STATE_SET have no such word), which the host's
   * serving loop takes in (conversionNote()) before it decodes the exits.
   */
  convert(g: PlatformOpSink, gpa: GpaArg, size: bigint | number, toPrivate: boolean, flags?: bigint): void;
  /**
   * A request for [gpa, gpa+size) that converts nothing: the host acts on
   * `flags` (say, punch the pages) and the guest's view of the range stays.
   * A note ucall on every platform: the platforms' calls all change state.
   */
  request(g: PlatformOpSink, gpa: GpaArg, size: bigint | number, flags: bigint): void;
  /** The request this exit carries, with the test's flags, or null if the exit is something else. */
  decodeExit(run: KvmRun): ConversionRequest | null;
}

/**
 * A VM as the platform layer sees it: a backend and a VM fd. kvm_util's
 * KvmVm is one; the platform layer sits below kvm_util and does not name it.
 */
export interface PlatformVmFd {
  readonly backend: Backend;
  readonly fd: number;
}

/** A typed host-access outcome: what a host read or write of private memory does. */
export type HostAccessResult =
  | { readonly kind: 'ok'; readonly data?: Uint8Array }
  | { readonly kind: 'ciphertext'; readonly data: Uint8Array }
  | { readonly kind: 'zeros'; readonly data: Uint8Array }
  | { readonly kind: 'signal'; readonly signal: 'SIGBUS' | 'SIGSEGV'; readonly code: string }
  | { readonly kind: 'rmp-fault'; readonly gpa: bigint }
  | { readonly kind: 'poisoned'; readonly gpa: bigint };

/**
 * A loaded platform plugin (loadPlatform()): its manifest, its model behaviour,
 * its guest conversion protocol and launch.
 */
export interface PlatformPlugin {
  readonly name: string;
  /** Where the manifest came from, for messages. */
  readonly file: string;
  readonly manifest: PlatformManifest;
  readonly behaviour: BehaviourName;
  /** [H] parameters (manifest `hardware`), already merged with the behaviour's defaults. */
  readonly hardware: HardwareParams;
  readonly vmType: number;
  /** The platform's model behaviour, registered for `vmType` in the model backend. */
  readonly model: ModelPlatform;
  /** The guest conversion protocol, or null when the platform has none. */
  readonly conversion: GuestConversion | null;
  /**
   * Why the generic MAP_GPA_RANGE conversion test cannot run here, as a
   * kselftest skip text naming the platform and the missing capability; null
   * when it can.
   */
  genericConversionSkip(): string | null;
  /**
   * The least launch that lets vCPUs run, for generic tests that do not
   * care about the payload (TDX: INIT_VCPU, FINALIZE_VM; SNP:
   * SNP_LAUNCH_START, SNP_LAUNCH_FINISH; SEV: LAUNCH_START through
   * LAUNCH_FINISH). Call it after the vCPUs exist, on a VM made by kvm_util's
   * __vmCreate(), whose post-create step already ran KVM_SEV_INIT2 for the
   * SEV types and KVM_TDX_INIT_VM for a TD (vmPostCreate(): the kernel
   * refuses INIT2 once vCPUs exist, and a TD vCPU before INIT_VM).
   * A no-op where the platform needs none.
   */
  launchMinimal(backend: Backend, vmFd: number, vcpuFds: readonly number[]): SysResult;
  /** The platform's folder, as it exported itself (host access, post-create step). */
  readonly definition: PlatformDefinition;
}

/**
 * A behaviour's model as its folder builds it: the ModelPlatform less what
 * the manifest already states, its name and `hasPrivateMem`
 * (kvm_arch_has_private_mem()), which the loader adds from the manifest.
 */
export type PlatformModel = Omit<ModelPlatform, 'name' | 'hasPrivateMem'>;

/** The manifest fields a behaviour may derive from its hardware parameters, by JSON pointer. */
export interface DerivableFacts {
  readonly '/marker/bit': number;
  readonly '/wrongState/unaccepted': UnacceptedOutcome;
  readonly '/hostAccess/read': HostReadOutcome;
  readonly '/hostAccess/write': HostWriteOutcome;
}

/**
 * How one manifest field follows from one hardware parameter. `Key` names
 * the parameters: a platform's folder declares its table with
 * `keyof Hw & string` so a misspelt `from` does not compile; the
 * definition keeps it a string so that definitions of different hardware
 * fit one registry (a key type would make Hw contravariant).
 */
export interface Derivation<Hw, F extends keyof DerivableFacts, Key extends string = string> {
  /** The hardware parameter it follows from (messages name it). */
  readonly from: Key;
  /** The rule in a few words, for the message refusing a manifest that states the field: 'gpaw - 1'. */
  readonly rule: string;
  value(hardware: Hw): DerivableFacts[F];
}

/** The manifest fields a behaviour derives; a manifest must leave each of them out. */
export type DerivedFacts<Hw, Key extends string = string> = { readonly [F in keyof DerivableFacts]?: Derivation<Hw, F, Key> };

/** A platform folder's derivation table, its `from` checked against its parameters. */
export type DerivedFactsOf<Hw> = DerivedFacts<Hw, keyof Hw & string>;

/**
 * What a platform's folder exports (platforms/<name>/index.ts): every fact
 * about the platform the framework needs, as one value. platforms/index.ts
 * lists them; an entry point hands that list to the loader's registry
 * (registry.ts), so lib/platform itself names no platform.
 *
 * `Hw` is the behaviour's hardware schema: the loader validates a manifest's
 * `hardware` against it (defaults filled in, an unknown or mistyped key
 * refused), so `model` and `conversion` receive its Static type.
 */
export interface PlatformDefinition<Name extends string = string, Hw extends HardwareSchema = HardwareSchema> {
  /** The behaviour name a manifest picks (`behaviour`); the folder's name. */
  readonly name: Name;
  /** The folder's manifest.json (the loader validates it). */
  readonly manifest: unknown;
  /** Where the manifest lives, for messages: platforms/<name>/manifest.json. */
  readonly manifestFile: string;
  /** The [H] parameters the behaviour reads, with their defaults (manifest.ts, hardwareSchema()). */
  readonly hardware: Hw;
  /** Manifest fields that follow from the hardware parameters; the loader fills them in. */
  readonly derived?: DerivedFacts<Static<Hw>>;
  /** The model behaviour for these [H] parameters (the loader adds the manifest's name and hasPrivateMem). */
  model(hardware: Static<Hw>): PlatformModel;
  /** The guest conversion protocol, for a manifest whose `conversion.generic` is true. */
  conversion?(hardware: Static<Hw>): ConversionProtocol;
  /**
   * The step kvm_util's __vmCreate() runs right after KVM_CREATE_VM and
   * before any vCPU (kvm_arch_vm_post_create(),
   * tools/testing/selftests/kvm/lib/x86/processor.c): the ioctl's name for
   * messages and the call on the raw backend.
   */
  readonly postCreate?: {
    readonly command: string;
    run(backend: Backend, vmFd: number): SysResult;
  };
  /**
   * false where the platform takes no KVM_CREATE_IRQCHIP, so kvm_util's
   * kvm_arch_vm_post_create() leaves the irqchip out (and with it the
   * vCPUs' KVM_SET_MP_STATE, vm_arch_vcpu_add()). Default true.
   */
  readonly inKernelIrqchip?: boolean;
  /** PlatformPlugin.launchMinimal(); a no-op when omitted. */
  launchMinimal?(backend: Backend, vmFd: number, vcpuFds: readonly number[]): SysResult;
  /**
   * Where the only real path to a private page is the host kernel touching
   * it (SNP ciphertext and RMP fault, TD zeros and poison): model-only
   * commands that stand in for that access. host_access.ts calls them
   * after requireModel(), naming `page` in the skip text elsewhere.
   * Omitted: the manifest's `hostAccess` outcome through the VMM's own
   * mappings.
   */
  readonly hostKernelAccess?: {
    /** The page as a skip text names it: 'an SNP private page'. */
    readonly page: string;
    read?(vm: PlatformVmFd, gpa: bigint): HostAccessResult;
    write?(vm: PlatformVmFd, gpa: bigint, data: Uint8Array): HostAccessResult;
  };
}
