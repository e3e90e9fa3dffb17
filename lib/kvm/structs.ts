/**
 * Struct layouts of the KVM uAPI (x86-64), as byte buffers at the kernel's
 * offsets. Values wider than a field are truncated the way a C assignment
 * would (BigInt.asUintN), so a test can pass `-1n` for "all ones".
 */

export const SIZEOF_KVM_USERSPACE_MEMORY_REGION = 32;
export const SIZEOF_KVM_USERSPACE_MEMORY_REGION2 = 160;
export const SIZEOF_KVM_MEMORY_ATTRIBUTES = 32;
export const SIZEOF_KVM_CREATE_GUEST_MEMFD = 64;
export const SIZEOF_KVM_PRE_FAULT_MEMORY = 64;
export const SIZEOF_KVM_ENABLE_CAP = 104;
export const SIZEOF_KVM_MEMORY_ATTRIBUTES2 = 128;

type U64 = bigint | number;

const u64 = (v: U64): bigint => BigInt.asUintN(64, BigInt(v));
const u32 = (v: U64): number => Number(BigInt.asUintN(32, BigInt(v)));

// Structs are built and read in one scratch area. A small typed array lives
// on the V8 heap, and reading its `.buffer` first moves its bytes off-heap:
// `new DataView(buf.buffer, ...)` per struct cost about 3 µs, most of a
// model KVM_SET_MEMORY_ATTRIBUTES (bench/figures/attributes.ts).
const SCRATCH_SIZE = 256;
const scratch = new ArrayBuffer(SCRATCH_SIZE);
const scratchView = new DataView(scratch);
const scratchBytes = new Uint8Array(scratch);

/** A zeroed struct of `size` bytes to encode into; `encoded(size)` copies it out. */
function blank(size: number): DataView {
  scratchBytes.fill(0, 0, size);
  return scratchView;
}

function encoded(size: number): Uint8Array {
  return scratchBytes.slice(0, size);
}

/** The bytes of `buf` to decode from (copied to the scratch area when they fit; bytes past its end read as 0). */
function readView(buf: Uint8Array): DataView {
  if (buf.byteLength > SCRATCH_SIZE) return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  scratchBytes.set(buf);
  scratchBytes.fill(0, buf.byteLength);
  return scratchView;
}

export interface KvmUserspaceMemoryRegion2 {
  slot: U64;
  flags: U64;
  guestPhysAddr: U64;
  memorySize: U64;
  userspaceAddr: U64;
  guestMemfdOffset?: U64;
  guestMemfd?: U64;
}

/** struct kvm_userspace_memory_region2 (160 B); the v1 struct is its first 32 bytes. */
export function encodeUserspaceMemoryRegion2(r: KvmUserspaceMemoryRegion2): Uint8Array {
  const dv = blank(SIZEOF_KVM_USERSPACE_MEMORY_REGION2);
  dv.setUint32(0, u32(r.slot), true);
  dv.setUint32(4, u32(r.flags), true);
  dv.setBigUint64(8, u64(r.guestPhysAddr), true);
  dv.setBigUint64(16, u64(r.memorySize), true);
  dv.setBigUint64(24, u64(r.userspaceAddr), true);
  dv.setBigUint64(32, u64(r.guestMemfdOffset ?? 0), true);
  dv.setUint32(40, u32(r.guestMemfd ?? 0), true);
  return encoded(SIZEOF_KVM_USERSPACE_MEMORY_REGION2);
}

/** struct kvm_userspace_memory_region (32 B). */
export function encodeUserspaceMemoryRegion(r: Omit<KvmUserspaceMemoryRegion2, 'guestMemfd' | 'guestMemfdOffset'>): Uint8Array {
  return encodeUserspaceMemoryRegion2(r).slice(0, SIZEOF_KVM_USERSPACE_MEMORY_REGION);
}

export interface DecodedMemoryRegion2 {
  slot: number;
  flags: number;
  guestPhysAddr: bigint;
  memorySize: bigint;
  userspaceAddr: bigint;
  guestMemfdOffset: bigint;
  guestMemfd: number;
}

export function decodeUserspaceMemoryRegion2(buf: Uint8Array): DecodedMemoryRegion2 {
  const dv = readView(buf);
  const v2 = buf.byteLength >= SIZEOF_KVM_USERSPACE_MEMORY_REGION2;
  return {
    slot: dv.getUint32(0, true),
    flags: dv.getUint32(4, true),
    guestPhysAddr: dv.getBigUint64(8, true),
    memorySize: dv.getBigUint64(16, true),
    userspaceAddr: dv.getBigUint64(24, true),
    guestMemfdOffset: v2 ? dv.getBigUint64(32, true) : 0n,
    guestMemfd: v2 ? dv.getUint32(40, true) : 0,
  };
}

export interface KvmMemoryAttributes {
  address: U64;
  size: U64;
  attributes: U64;
  flags?: U64;
}

/** struct kvm_memory_attributes (32 B). */
export function encodeMemoryAttributes(a: KvmMemoryAttributes): Uint8Array {
  const dv = blank(SIZEOF_KVM_MEMORY_ATTRIBUTES);
  dv.setBigUint64(0, u64(a.address), true);
  dv.setBigUint64(8, u64(a.size), true);
  dv.setBigUint64(16, u64(a.attributes), true);
  dv.setBigUint64(24, u64(a.flags ?? 0), true);
  return encoded(SIZEOF_KVM_MEMORY_ATTRIBUTES);
}

export function decodeMemoryAttributes(buf: Uint8Array): Required<{ [K in keyof KvmMemoryAttributes]: bigint }> {
  const dv = readView(buf);
  return {
    address: dv.getBigUint64(0, true),
    size: dv.getBigUint64(8, true),
    attributes: dv.getBigUint64(16, true),
    flags: dv.getBigUint64(24, true),
  };
}

export interface KvmMemoryAttributes2 {
  offset: U64;
  size: U64;
  attributes: U64;
  flags?: U64;
  /** Out; what the caller leaves in it before the call (the kernel writes it only on failure). */
  errorOffset?: U64;
  /** reserved[11], which must be zero (negative tests set one). */
  reserved?: readonly U64[];
}

/**
 * [7.4] struct kvm_memory_attributes2 (128 B, include/uapi/linux/kvm.h of the
 * in-place series): offset @0 (a union with address), size @8,
 * attributes @16, flags @24, error_offset @32 (out), reserved[11] @40.
 */
export function encodeMemoryAttributes2(a: KvmMemoryAttributes2): Uint8Array {
  const dv = blank(SIZEOF_KVM_MEMORY_ATTRIBUTES2);
  dv.setBigUint64(0, u64(a.offset), true);
  dv.setBigUint64(8, u64(a.size), true);
  dv.setBigUint64(16, u64(a.attributes), true);
  dv.setBigUint64(24, u64(a.flags ?? 0), true);
  dv.setBigUint64(32, u64(a.errorOffset ?? 0), true);
  (a.reserved ?? []).slice(0, 11).forEach((r, i) => dv.setBigUint64(40 + i * 8, u64(r), true));
  return encoded(SIZEOF_KVM_MEMORY_ATTRIBUTES2);
}

export interface DecodedMemoryAttributes2 {
  offset: bigint;
  size: bigint;
  attributes: bigint;
  flags: bigint;
  errorOffset: bigint;
  reserved: bigint[];
}

export function decodeMemoryAttributes2(buf: Uint8Array): DecodedMemoryAttributes2 {
  const dv = readView(buf);
  return {
    offset: dv.getBigUint64(0, true),
    size: dv.getBigUint64(8, true),
    attributes: dv.getBigUint64(16, true),
    flags: dv.getBigUint64(24, true),
    errorOffset: dv.getBigUint64(32, true),
    reserved: Array.from({ length: 11 }, (_, i) => dv.getBigUint64(40 + i * 8, true)),
  };
}

/** Write error_offset (@32) back into the caller's struct, as kvm_gmem_set_attributes() does with copy_to_user(). */
export function setMemoryAttributes2ErrorOffset(buf: Uint8Array, errorOffset: bigint): void {
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setBigUint64(32, u64(errorOffset), true);
}

/** struct kvm_create_guest_memfd (64 B); `reserved[6]` is not checked by the kernel. */
export function encodeCreateGuestMemfd(a: { size: U64; flags?: U64; reserved?: readonly U64[] }): Uint8Array {
  const dv = blank(SIZEOF_KVM_CREATE_GUEST_MEMFD);
  dv.setBigUint64(0, u64(a.size), true);
  dv.setBigUint64(8, u64(a.flags ?? 0), true);
  (a.reserved ?? []).slice(0, 6).forEach((r, i) => dv.setBigUint64(16 + 8 * i, u64(r), true));
  return encoded(SIZEOF_KVM_CREATE_GUEST_MEMFD);
}

export function decodeCreateGuestMemfd(buf: Uint8Array): { size: bigint; flags: bigint } {
  const dv = readView(buf);
  return { size: dv.getBigUint64(0, true), flags: dv.getBigUint64(8, true) };
}

/** struct kvm_pre_fault_memory (64 B); gpa and size are in/out. */
export function encodePreFaultMemory(a: { gpa: U64; size: U64; flags?: U64 }): Uint8Array {
  const dv = blank(SIZEOF_KVM_PRE_FAULT_MEMORY);
  dv.setBigUint64(0, u64(a.gpa), true);
  dv.setBigUint64(8, u64(a.size), true);
  dv.setBigUint64(16, u64(a.flags ?? 0), true);
  return encoded(SIZEOF_KVM_PRE_FAULT_MEMORY);
}

export function decodePreFaultMemory(buf: Uint8Array): { gpa: bigint; size: bigint; flags: bigint } {
  const dv = readView(buf);
  return { gpa: dv.getBigUint64(0, true), size: dv.getBigUint64(8, true), flags: dv.getBigUint64(16, true) };
}

/** struct kvm_enable_cap (104 B). */
export function encodeEnableCap(a: { cap: U64; flags?: U64; args?: readonly U64[] }): Uint8Array {
  const dv = blank(SIZEOF_KVM_ENABLE_CAP);
  dv.setUint32(0, u32(a.cap), true);
  dv.setUint32(4, u32(a.flags ?? 0), true);
  (a.args ?? []).slice(0, 4).forEach((r, i) => dv.setBigUint64(8 + 8 * i, u64(r), true));
  return encoded(SIZEOF_KVM_ENABLE_CAP);
}

export function decodeEnableCap(buf: Uint8Array): { cap: number; flags: number; args: bigint[] } {
  const dv = readView(buf);
  return {
    cap: dv.getUint32(0, true),
    flags: dv.getUint32(4, true),
    args: [0, 1, 2, 3].map((i) => dv.getBigUint64(8 + 8 * i, true)),
  };
}
