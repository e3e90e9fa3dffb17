/**
 * Address types that cannot be mixed (rust-vmm vm-memory's GuestAddress
 * newtypes, kvm_util.h's vm_paddr_t / vm_vaddr_t / void *): a guest
 * physical address, a guest virtual address, a host virtual address and a
 * guest_memfd offset are all 64-bit integers, and the kernel takes each one
 * in a different place. Passing one where another is expected is a compile
 * error:
 *
 * ```ts
 * const where = gpa(1n << 32n);
 * hostFill(where, 4096, 0);                 // error: a Gpa is not an Hva
 * hostFill(addrGpa2Hva(vm, where), 4096, 0); // the shared backing of that GPA
 * ```
 *
 * The brand exists only for the type checker (the values are plain
 * bigints at run time). What the library hands out is branded (a region's
 * `gpa` and `hva`, `addrGpa2Hva()`, `kvmMmap()`, `cocoVmCreate().gpa`); an
 * integer that has no kind yet (a literal, the result of arithmetic) is
 * accepted wherever an address is, so tests stay readable, and `gpa()`,
 * `gva()`, `hva()` give one a kind where it matters. Only another kind is
 * refused: `gpa(someHva)` is an error too, since that is a conversion
 * (`addrHva2Gpa()`), not a label.
 */
declare const addressKind: unique symbol;

/** A 64-bit address of one address space (the brand is compile-time only). */
type Address<K extends string> = bigint & { readonly [addressKind]: K };

/** Guest physical address (vm_paddr_t). */
export type Gpa = Address<'Gpa'>;
/** Guest virtual address (vm_vaddr_t): what guest code dereferences. */
export type Gva = Address<'Gva'>;
/** Host virtual address in the test process (void *). */
export type Hva = Address<'Hva'>;
/** Byte offset inside a guest_memfd file. */
export type GmemOffset = Address<'GmemOffset'>;

/** An integer without an address kind: a literal, or the result of arithmetic on addresses. */
export type Unbranded = number | (bigint & { readonly [addressKind]?: never });
/** A GPA parameter: a `Gpa`, or an integer without a kind; a `Gva`, `Hva` or `GmemOffset` is a compile error. */
export type GpaArg = Gpa | Unbranded;
/** A GVA parameter: a `Gva`, or an integer without a kind. */
export type GvaArg = Gva | Unbranded;
/** An HVA parameter: an `Hva`, or an integer without a kind; a guest address is a compile error. */
export type HvaArg = Hva | Unbranded;
/** A guest_memfd offset parameter: a `GmemOffset`, or an integer without a kind. */
export type GmemOffsetArg = GmemOffset | Unbranded;
/**
 * An address guest code dereferences. kvm_util maps guest memory 1:1
 * (VA == PA, as the selftests' virt_map() of the test region does), so a
 * `Gva` and a `Gpa` both name the same byte; a host address never does.
 */
export type GuestAddrArg = Gva | Gpa | Unbranded;

/** A GPA from an integer without a kind (`gpa(1n << 32n)`, `gpa(base + 4096n)`); a GPA stays itself. */
export const gpa = (v: GpaArg): Gpa => BigInt(v) as Gpa;
/** A GVA from an integer without a kind. */
export const gva = (v: GvaArg): Gva => BigInt(v) as Gva;
/** An HVA from an integer without a kind (an address the backend returned raw). */
export const hva = (v: HvaArg): Hva => BigInt(v) as Hva;
/** A guest_memfd offset from an integer without a kind. */
export const gmemOffset = (v: GmemOffsetArg): GmemOffset => BigInt(v) as GmemOffset;

/** `0x...` as kvm_util's messages print addresses (%lx with a 0x prefix). */
export const hex = (v: bigint | number): string => `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
