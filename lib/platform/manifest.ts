/**
 * The platform plugin manifest: what a confidential-computing platform is,
 * as data. Every field answers one question of reference/platforms.md §4
 * (marker, conversion, wrong-state access, host access, launch, granularity)
 * so that a plugin can be read, diffed and validated without running it.
 *
 * Hardware and firmware behaviour the kernel sources do not show (claims
 * marked [H] in platforms.md) lives under `hardware` as parameters, never as
 * constants in the behaviour code, so a user manifest can change them. A
 * manifest field that follows from such a parameter (the TDX shared bit from
 * `gpaw`, the SNP C-bit from `cbit`) is stated there only: the behaviour
 * derives it (PlatformDefinition.derived) and the loader refuses a manifest
 * that states it as well, so the two cannot disagree.
 */
import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';

const Str = (description: string) => Type.String({ minLength: 1, description });

export const MarkerModel = Type.Union(
  [Type.Literal('address-bit'), Type.Literal('ownership'), Type.Literal('attribute'), Type.Literal('none')],
  { description: 'how an access is marked private: a per-access address bit, page ownership, the KVM attribute itself, or no private memory' },
);

export const Marker = Type.Object(
  {
    model: MarkerModel,
    /** Which address bit marks the access (TDX shared bit, SEV C-bit, CCA top IPA bit); address-bit only. */
    bit: Type.Optional(Type.Integer({ minimum: 0, maximum: 63 })),
    /** Does a set bit mean private (SEV C-bit) or shared (TDX, CCA)? */
    bitMeans: Type.Optional(Type.Union([Type.Literal('private'), Type.Literal('shared')])),
    /** Where the guest learns the bit, for messages and documentation. */
    source: Str('where the marker comes from'),
  },
  { additionalProperties: false },
);

export const ConversionExit = Type.Union(
  [
    Type.Literal('hypercall'), // KVM_EXIT_HYPERCALL, nr = KVM_HC_MAP_GPA_RANGE
    Type.Literal('memory-fault'), // KVM_EXIT_MEMORY_FAULT (CCA RIPAS change)
    Type.Literal('el2'), // handled by the hypervisor, no host exit (pKVM)
    Type.Literal('none'), // the platform has no host-visible conversion
  ],
  { description: 'how a guest conversion request reaches the VMM' },
);

export const Conversion = Type.Object(
  {
    /** The guest call that converts, e.g. `TDG.VP.VMCALL<MapGPA>`. */
    call: Str('the guest conversion call'),
    /** The `platform` guest op names the plugin executes, e.g. `tdx.map_gpa`. */
    guestOps: Type.Array(Type.String({ minLength: 1 })),
    exit: ConversionExit,
    /** A capability userspace must enable first (KVM_CAP_EXIT_HYPERCALL bit 12), if any. */
    enableCap: Type.Optional(Type.String({ minLength: 1 })),
    /** What a second step the guest owes after →private (TDX ACCEPT, SNP PVALIDATE), if any. */
    afterToPrivate: Type.Optional(Type.String({ minLength: 1 })),
    /** Whether the generic MAP_GPA_RANGE conversion test can run on this platform. */
    generic: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const GuestWrongState = Type.Union(
  [
    Type.Literal('memory-fault-exit'),
    Type.Literal('garbage'),
    Type.Literal('never'),
    Type.Literal('not-applicable'),
  ],
);

export const WrongState = Type.Object(
  {
    /** An access whose marker disagrees with the gfn's attribute. */
    mismatch: GuestWrongState,
    /** A private page the guest has not yet accepted/validated, if the platform has that state. */
    unaccepted: Type.Optional(
      Type.Union([
        Type.Literal('vm-dead'),
        Type.Literal('memory-fault-size0'),
        Type.Literal('guest-vc'),
        Type.Literal('guest-sea'),
      ]),
    ),
    description: Str('one line for messages'),
  },
  { additionalProperties: false },
);

export const HostReadOutcome = Type.Union([
  Type.Literal('ciphertext'),
  Type.Literal('zeros'),
  Type.Literal('sigsegv'),
  Type.Literal('sigbus'),
  Type.Literal('plaintext'),
]);

export const HostWriteOutcome = Type.Union([
  Type.Literal('silent-corruption'),
  Type.Literal('rmp-fault'),
  Type.Literal('poison'),
  Type.Literal('sigsegv'),
  Type.Literal('sigbus'),
  Type.Literal('plaintext'),
]);

/**
 * What a host access to private memory does. `read` and `write` may be left
 * out where the behaviour derives them from a hardware parameter (TDX
 * `hostRead`, pKVM `hostAccessSignal`); the loader fills them in.
 */
export const HostAccess = Type.Object(
  {
    read: Type.Optional(HostReadOutcome),
    write: Type.Optional(HostWriteOutcome),
    description: Str('one line for messages'),
  },
  { additionalProperties: false },
);

export const LaunchFlowKind = Type.Union([
  Type.Literal('none'),
  Type.Literal('in-place'),
  Type.Literal('populate'),
  Type.Literal('write-before-run'),
]);

export const Launch = Type.Object(
  {
    flow: LaunchFlowKind,
    /** The uAPI steps in order, e.g. [KVM_TDX_INIT_VM, ..., KVM_TDX_FINALIZE_VM]. */
    steps: Type.Array(Type.String({ minLength: 1 })),
    measurement: Type.Union([Type.Literal('sha256'), Type.Literal('sha384'), Type.Literal('none')]),
  },
  { additionalProperties: false },
);

export const PageLevel = Type.Union([Type.Literal('4K'), Type.Literal('2M'), Type.Literal('1G')]);

export const Granularity = Type.Object(
  {
    /** Smallest unit of conversion, in bytes. */
    pageSize: Type.Integer({ minimum: 4096 }),
    /** Levels KVM maps private memory at today. */
    kvmPrivateLevels: Type.Array(PageLevel, { minItems: 1 }),
    /** Levels the hardware/firmware supports [H]. */
    hardwareLevels: Type.Array(PageLevel, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const Arch = Type.Union([Type.Literal('x86_64'), Type.Literal('arm64')]);

/** One [H] hardware parameter's value, before its behaviour's schema (PlatformDefinition.hardware) checks it. */
export const HardwareValue = Type.Union([Type.Integer(), Type.Boolean(), Type.String()]);

export const Hardware = Type.Record(
  Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9]*$' }),
  HardwareValue,
  { description: '[H] hardware/firmware parameters the behaviour reads' },
);

/**
 * A behaviour's [H] parameters as one typebox object: every key carries a
 * `description` and a `default` (or is Optional, where unset means "the
 * kernel profile's rule" or "random"), and no other key is accepted. One
 * declaration gives the behaviour's parameter type (Static) and the
 * loader's validator.
 */
export type HardwareSchema = TObject;

/** A behaviour's hardware schema: `props` with unknown keys refused. */
export function hardwareSchema<P extends TProperties>(props: P): TObject<P> {
  return Type.Object(props, { additionalProperties: false });
}

/**
 * A platform plugin's manifest.json: what the platform is, as data (typebox
 * schema; platforms/README.md describes the fields).
 */
export const PlatformManifest = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z][a-z0-9_]*$', description: 'plugin name, lower_snake_case' }),
    description: Str('one-line description'),
    /** Upstream status, e.g. "upstream 6.16", "posted series", "Android". */
    status: Str('upstream status'),
    arch: Arch,
    vmType: Type.Integer({ minimum: 0, maximum: 0xffffffff }),
    vmTypeName: Str('the VM type constant'),
    /** `kvm_arch_has_private_mem()`: gates KVM_SET_MEMORY_ATTRIBUTES(PRIVATE). */
    hasPrivateMem: Type.Boolean(),
    marker: Marker,
    conversion: Conversion,
    wrongState: WrongState,
    hostAccess: HostAccess,
    launch: Launch,
    granularity: Granularity,
    /** Capabilities a test needs before it can run on this platform (skip reason otherwise). */
    requiredCaps: Type.Array(Type.String({ pattern: '^KVM_CAP_[A-Z0-9_]+$' })),
    /**
     * Which registered platform's code implements this manifest (itself for
     * a platform's own; user plugins reuse one). The loader checks the name.
     */
    behaviour: Type.String({ pattern: '^[a-z][a-z0-9_]*$', description: 'a registered platform (platforms/index.ts)' }),
    /** Omitted: the behaviour's defaults (PlatformDefinition.hardware). */
    hardware: Type.Optional(Hardware),
  },
  { additionalProperties: false },
);

/** A manifest file as validated against the schema, before the loader derived its facts. */
export type ManifestFile = Static<typeof PlatformManifest>;
/** A host access outcome once the loader filled in what the hardware parameters decide. */
export type HostAccess = Required<Static<typeof HostAccess>>;
/**
 * A loaded manifest: the file's fields plus the facts its behaviour derives
 * from the hardware parameters (loader.ts), with every hardware parameter
 * present (the manifest's values over the behaviour's defaults).
 */
export type PlatformManifest = Omit<ManifestFile, 'hostAccess' | 'hardware'> & {
  readonly hostAccess: HostAccess;
  readonly hardware: HardwareParams;
};
/** The name of a registered platform whose code a manifest uses. */
export type BehaviourName = PlatformManifest['behaviour'];
export type HostReadOutcome = Static<typeof HostReadOutcome>;
export type HostWriteOutcome = Static<typeof HostWriteOutcome>;
export type MarkerModel = Static<typeof MarkerModel>;
/** [H] hardware/firmware parameters of a behaviour, untyped (platforms/README.md lists them). */
export type HardwareParams = Static<typeof Hardware>;
/** The wrong-state outcome of an access to a page the guest has not accepted or validated. */
export type UnacceptedOutcome = NonNullable<Static<typeof WrongState>['unaccepted']>;
