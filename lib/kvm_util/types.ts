/**
 * Branded address types (rust-vmm vm-memory's GuestAddress newtypes), so a
 * guest physical address cannot be passed where a host virtual address or a
 * guest_memfd offset is expected without saying so.
 */
declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Guest physical address (vm_paddr_t). */
export type Gpa = Brand<bigint, 'Gpa'>;
/** Host virtual address in the test process (void *). */
export type Hva = Brand<bigint, 'Hva'>;
/** Byte offset inside a guest_memfd file. */
export type GmemOffset = Brand<bigint, 'GmemOffset'>;

export const gpa = (v: bigint | number): Gpa => BigInt(v) as Gpa;
export const hva = (v: bigint | number): Hva => BigInt(v) as Hva;
export const gmemOffset = (v: bigint | number): GmemOffset => BigInt(v) as GmemOffset;

/** `0x...` as kvm_util's messages print addresses (%lx with a 0x prefix). */
export const hex = (v: bigint | number): string => `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
