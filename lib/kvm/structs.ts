/**
 * Struct layouts of the KVM uAPI (include/uapi/linux/kvm.h,
 * arch/x86/include/uapi/asm/kvm.h; x86-64), each declared once through
 * layout.ts: the sizes, the ioctl numbers of uapi.ts and the encoders and
 * decoders below all come from these declarations. Values wider than a
 * field are truncated the way a C assignment would, so a test can pass
 * `-1n` for "all ones".
 */
import type { Num } from '../libc/int.js';
import { array, struct, u16, u32, u64, u8 } from './layout.js';

const REGION_FIELDS = { slot: u32, flags: u32, guestPhysAddr: u64, memorySize: u64, userspaceAddr: u64 } as const;

/** struct kvm_userspace_memory_region. */
export const kvm_userspace_memory_region = struct('kvm_userspace_memory_region', REGION_FIELDS);

/** struct kvm_userspace_memory_region2: the v1 struct, then the guest_memfd binding and room to grow. */
export const kvm_userspace_memory_region2 = struct('kvm_userspace_memory_region2', {
  ...REGION_FIELDS,
  guestMemfdOffset: u64,
  guestMemfd: u32,
  pad1: u32,
  pad2: array(u64, 14),
});

/** struct kvm_memory_attributes. */
export const kvm_memory_attributes = struct('kvm_memory_attributes', { address: u64, size: u64, attributes: u64, flags: u64 });

/**
 * [7.4] struct kvm_memory_attributes2 of the in-place conversion series:
 * `offset` is a union with `address` (the guest_memfd ioctl takes a file
 * offset), `error_offset` is written back on failure, `reserved` must be 0.
 */
export const kvm_memory_attributes2 = struct('kvm_memory_attributes2', {
  offset: u64, size: u64, attributes: u64, flags: u64, errorOffset: u64, reserved: array(u64, 11),
});

/** struct kvm_create_guest_memfd; `reserved` is not checked by the kernel. */
export const kvm_create_guest_memfd = struct('kvm_create_guest_memfd', { size: u64, flags: u64, reserved: array(u64, 6) });

/** struct kvm_pre_fault_memory; gpa and size are in/out. */
export const kvm_pre_fault_memory = struct('kvm_pre_fault_memory', { gpa: u64, size: u64, flags: u64, padding: array(u64, 5) });

/** struct kvm_enable_cap. */
export const kvm_enable_cap = struct('kvm_enable_cap', { cap: u32, flags: u32, args: array(u64, 4), pad: array(u8, 64) });

/** struct kvm_device_attr. */
export const kvm_device_attr = struct('kvm_device_attr', { flags: u32, group: u32, attr: u64, addr: u64 });

/** struct kvm_mp_state. */
export const kvm_mp_state = struct('kvm_mp_state', { mpState: u32 });

/** struct kvm_interrupt: the vector for KVM_INTERRUPT. */
export const kvm_interrupt = struct('kvm_interrupt', { irq: u32 });

/** struct kvm_regs (x86): the general-purpose registers, RIP and RFLAGS. */
export const kvm_regs = struct('kvm_regs', {
  rax: u64, rbx: u64, rcx: u64, rdx: u64, rsi: u64, rdi: u64, rsp: u64, rbp: u64,
  r8: u64, r9: u64, r10: u64, r11: u64, r12: u64, r13: u64, r14: u64, r15: u64,
  rip: u64, rflags: u64,
});

/** struct kvm_segment (x86): a segment register with its hidden part. */
export const kvm_segment = struct('kvm_segment', {
  base: u64, limit: u32, selector: u16,
  type: u8, present: u8, dpl: u8, db: u8, s: u8, l: u8, g: u8, avl: u8, unusable: u8, padding: u8,
});

/** struct kvm_dtable (x86): GDTR/IDTR. */
export const kvm_dtable = struct('kvm_dtable', { base: u64, limit: u16, padding: array(u16, 3) });

/** KVM_NR_INTERRUPTS (arch/x86/include/uapi/asm/kvm.h): the interrupt bitmap of kvm_sregs holds one bit per vector. */
const KVM_NR_INTERRUPTS = 256;

/** struct kvm_sregs (x86). */
export const kvm_sregs = struct('kvm_sregs', {
  cs: kvm_segment, ds: kvm_segment, es: kvm_segment, fs: kvm_segment, gs: kvm_segment, ss: kvm_segment,
  tr: kvm_segment, ldt: kvm_segment,
  gdt: kvm_dtable, idt: kvm_dtable,
  cr0: u64, cr2: u64, cr3: u64, cr4: u64, cr8: u64, efer: u64, apic_base: u64,
  interrupt_bitmap: array(u64, Math.floor((KVM_NR_INTERRUPTS + 63) / 64)),
});

/** struct kvm_cpuid_entry2 (x86). */
export const kvm_cpuid_entry2 = struct('kvm_cpuid_entry2', {
  function: u32, index: u32, flags: u32, eax: u32, ebx: u32, ecx: u32, edx: u32, padding: array(u32, 3),
});

/** struct kvm_cpuid2 (x86): the header; `nent` struct kvm_cpuid_entry2 follow it (a flexible array member). */
export const kvm_cpuid2 = struct('kvm_cpuid2', { nent: u32, padding: u32 });

/** UCALL_MAX_ARGS (tools/testing/selftests/kvm/include/ucall_common.h): the args a ucall carries. */
export const UCALL_MAX_ARGS = 7;
/** UCALL_BUFFER_LEN: the text a GUEST_PRINTF or a failed GUEST_ASSERT carries. */
export const UCALL_BUFFER_LEN = 1024;
/** struct ucall (tools/testing/selftests/kvm/include/ucall_common.h): what the guest's RDI points at. */
export const ucall = struct('ucall', { cmd: u64, args: array(u64, UCALL_MAX_ARGS), buffer: array(u8, UCALL_BUFFER_LEN), hva: u64 });

export const SIZEOF_KVM_USERSPACE_MEMORY_REGION = kvm_userspace_memory_region.size;
export const SIZEOF_KVM_USERSPACE_MEMORY_REGION2 = kvm_userspace_memory_region2.size;
export const SIZEOF_KVM_MEMORY_ATTRIBUTES = kvm_memory_attributes.size;
export const SIZEOF_KVM_CREATE_GUEST_MEMFD = kvm_create_guest_memfd.size;
export const SIZEOF_KVM_PRE_FAULT_MEMORY = kvm_pre_fault_memory.size;
export const SIZEOF_KVM_ENABLE_CAP = kvm_enable_cap.size;
export const SIZEOF_KVM_MEMORY_ATTRIBUTES2 = kvm_memory_attributes2.size;

export interface KvmUserspaceMemoryRegion2 {
  slot: Num;
  flags: Num;
  guestPhysAddr: Num;
  memorySize: Num;
  userspaceAddr: Num;
  guestMemfdOffset?: Num;
  guestMemfd?: Num;
}

/** struct kvm_userspace_memory_region2. */
export function encodeUserspaceMemoryRegion2(r: KvmUserspaceMemoryRegion2): Uint8Array {
  return kvm_userspace_memory_region2.encode(r);
}

/** struct kvm_userspace_memory_region. */
export function encodeUserspaceMemoryRegion(r: Omit<KvmUserspaceMemoryRegion2, 'guestMemfd' | 'guestMemfdOffset'>): Uint8Array {
  return kvm_userspace_memory_region.encode(r);
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

/** Either version: a v1 struct reads with no guest_memfd (its bytes end before the v2 fields). */
export function decodeUserspaceMemoryRegion2(buf: Uint8Array): DecodedMemoryRegion2 {
  const { slot, flags, guestPhysAddr, memorySize, userspaceAddr, guestMemfdOffset, guestMemfd } = kvm_userspace_memory_region2.decode(buf);
  return { slot, flags, guestPhysAddr, memorySize, userspaceAddr, guestMemfdOffset, guestMemfd };
}

export interface KvmMemoryAttributes {
  address: Num;
  size: Num;
  attributes: Num;
  flags?: Num;
}

/** struct kvm_memory_attributes. */
export function encodeMemoryAttributes(a: KvmMemoryAttributes): Uint8Array {
  return kvm_memory_attributes.encode(a);
}

export function decodeMemoryAttributes(buf: Uint8Array): Required<{ [K in keyof KvmMemoryAttributes]: bigint }> {
  return kvm_memory_attributes.decode(buf);
}

export interface KvmMemoryAttributes2 {
  offset: Num;
  size: Num;
  attributes: Num;
  flags?: Num;
  /** Out; what the caller leaves in it before the call (the kernel writes it only on failure). */
  errorOffset?: Num;
  /** reserved[11], which must be zero (negative tests set one). */
  reserved?: readonly Num[];
}

/** [7.4] struct kvm_memory_attributes2. */
export function encodeMemoryAttributes2(a: KvmMemoryAttributes2): Uint8Array {
  return kvm_memory_attributes2.encode(a);
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
  return kvm_memory_attributes2.decode(buf);
}

/** Write error_offset back into the caller's struct, as kvm_gmem_set_attributes() does with copy_to_user(). */
export function setMemoryAttributes2ErrorOffset(buf: Uint8Array, errorOffset: bigint): void {
  kvm_memory_attributes2.encodeInto(buf, 0, { errorOffset });
}

/** struct kvm_create_guest_memfd. */
export function encodeCreateGuestMemfd(a: { size: Num; flags?: Num; reserved?: readonly Num[] }): Uint8Array {
  return kvm_create_guest_memfd.encode(a);
}

export function decodeCreateGuestMemfd(buf: Uint8Array): { size: bigint; flags: bigint } {
  const { size, flags } = kvm_create_guest_memfd.decode(buf);
  return { size, flags };
}

/** struct kvm_pre_fault_memory. */
export function encodePreFaultMemory(a: { gpa: Num; size: Num; flags?: Num }): Uint8Array {
  return kvm_pre_fault_memory.encode(a);
}

export function decodePreFaultMemory(buf: Uint8Array): { gpa: bigint; size: bigint; flags: bigint } {
  const { gpa, size, flags } = kvm_pre_fault_memory.decode(buf);
  return { gpa, size, flags };
}

/** struct kvm_enable_cap. */
export function encodeEnableCap(a: { cap: Num; flags?: Num; args?: readonly Num[] }): Uint8Array {
  return kvm_enable_cap.encode(a);
}

export function decodeEnableCap(buf: Uint8Array): { cap: number; flags: number; args: bigint[] } {
  const { cap, flags, args } = kvm_enable_cap.decode(buf);
  return { cap, flags, args };
}
