/**
 * The guest agent's long-mode CPU state: a GDT with a 64-bit code segment,
 * a data segment and a 64-bit TSS (Intel SDM Vol. 3A §3.4.5 segment
 * descriptors, §8.2.3 the 64-bit TSS descriptor; AMD APM Vol. 2 §4.8), and
 * the struct kvm_sregs / struct kvm_regs that KVM_SET_SREGS and
 * KVM_SET_REGS load (arch/x86/include/uapi/asm/kvm.h).
 *
 * Loading segment state through KVM_SET_SREGS sets the hidden parts
 * directly; the GDT is there so that the state is one the guest could
 * have loaded itself, which VM entry checks (SDM Vol. 3C §28.3.1.2) and
 * SVM's consistency checks expect, e.g. TR must be a busy 64-bit TSS.
 */
import { kvm_regs, kvm_segment, kvm_sregs } from '../structs.js';

export const GDT_NULL = 0x00;
export const GDT_CODE64 = 0x08;
export const GDT_DATA = 0x10;
export const GDT_TSS = 0x18;
/** Null, code, data, and the 16-byte TSS descriptor. */
export const GDT_SIZE = 0x28;
/** The 64-bit TSS (SDM Vol. 3A Figure 8-11): 104 bytes, no I/O permission bitmap. */
export const TSS_SIZE = 104;

/* struct kvm_sregs, struct kvm_segment: their layouts are declared in structs.ts. */
export const SIZEOF_KVM_SREGS = kvm_sregs.size;
export const SIZEOF_KVM_SEGMENT = kvm_segment.size;
export const KVM_SREGS_OFFSET = kvm_sregs.offsets;
export const KVM_SEGMENT_OFFSET = kvm_segment.offsets;

/* Control register and EFER bits (SDM Vol. 3A §2.5, §2.2.1). */
export const X86_CR0_PE = 1n << 0n;
export const X86_CR0_MP = 1n << 1n;
export const X86_CR0_ET = 1n << 4n;
export const X86_CR0_NE = 1n << 5n;
export const X86_CR0_PG = 1n << 31n;
export const X86_CR4_PAE = 1n << 5n;
export const EFER_LME = 1n << 8n;
export const EFER_LMA = 1n << 10n;

/* Descriptor types (SDM Vol. 3A Table 3-1, Table 3-2). */
/** Code, execute/read, accessed. */
export const SEG_TYPE_CODE_XRA = 0xb;
/** Data, read/write, accessed. */
export const SEG_TYPE_DATA_RWA = 0x3;
/** 64-bit TSS, busy. */
export const SEG_TYPE_TSS64_BUSY = 0xb;
/** LDT (what an unusable LDTR is left as). */
export const SEG_TYPE_LDT = 0x2;

export interface KvmSegment {
  readonly base: bigint;
  readonly limit: number;
  readonly selector: number;
  readonly type: number;
  readonly present: number;
  readonly dpl: number;
  readonly db: number;
  readonly s: number;
  readonly l: number;
  readonly g: number;
  readonly avl: number;
  readonly unusable: number;
}

/** The flat 64-bit code segment: L=1, D=0 (SDM Vol. 3A §5.2.1). */
export const CODE64_SEGMENT: KvmSegment = {
  base: 0n, limit: 0xffffffff, selector: GDT_CODE64, type: SEG_TYPE_CODE_XRA, present: 1, dpl: 0, db: 0, s: 1, l: 1, g: 1, avl: 0, unusable: 0,
};
/** The flat data segment used for DS, ES, FS, GS and SS. */
export const DATA_SEGMENT: KvmSegment = {
  base: 0n, limit: 0xffffffff, selector: GDT_DATA, type: SEG_TYPE_DATA_RWA, present: 1, dpl: 0, db: 1, s: 1, l: 0, g: 1, avl: 0, unusable: 0,
};
/** No LDT: an unusable LDTR, as kvm_util's kvm_seg_set_unusable() leaves it. */
export const UNUSABLE_LDT: KvmSegment = {
  base: 0n, limit: 0, selector: 0, type: SEG_TYPE_LDT, present: 0, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 1,
};
export function tssSegment(base: bigint): KvmSegment {
  return { base, limit: TSS_SIZE - 1, selector: GDT_TSS, type: SEG_TYPE_TSS64_BUSY, present: 1, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 0 };
}

/** An 8-byte code/data descriptor for `seg` (SDM Vol. 3A Figure 3-8). */
export function segmentDescriptor(seg: KvmSegment): bigint {
  // With G=1 the descriptor holds the limit in 4 KiB units.
  const limit = BigInt(seg.g ? seg.limit >>> 12 : seg.limit);
  const base = BigInt.asUintN(32, seg.base);
  const access = BigInt(seg.type | (seg.s << 4) | (seg.dpl << 5) | (seg.present << 7));
  const flags = BigInt(seg.avl | (seg.l << 1) | (seg.db << 2) | (seg.g << 3));
  return (limit & 0xffffn) | ((base & 0xffffffn) << 16n) | (access << 40n) | (((limit >> 16n) & 0xfn) << 48n) | (flags << 52n) | ((base >> 24n) << 56n);
}

/** The 16-byte system descriptor of a 64-bit TSS (SDM Vol. 3A Figure 8-4): two u64, low then high. */
export function tssDescriptor(seg: KvmSegment): [bigint, bigint] {
  const low = segmentDescriptor({ ...seg, base: BigInt.asUintN(32, seg.base) });
  return [low, BigInt.asUintN(64, seg.base) >> 32n];
}

/** The GDT: null, CODE64, DATA, TSS (busy, as after LTR; SDM Vol. 3A §8.2.2). */
export function buildGdt(tssBase: bigint): Uint8Array {
  const out = new Uint8Array(GDT_SIZE);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(GDT_CODE64, segmentDescriptor(CODE64_SEGMENT), true);
  dv.setBigUint64(GDT_DATA, segmentDescriptor(DATA_SEGMENT), true);
  const [lo, hi] = tssDescriptor(tssSegment(tssBase));
  dv.setBigUint64(GDT_TSS, lo, true);
  dv.setBigUint64(GDT_TSS + 8, hi, true);
  return out;
}

/**
 * The TSS: all stack pointers zero (the agent never changes privilege or
 * takes an interrupt), the I/O map base at the limit, i.e. no bitmap (SDM
 * Vol. 1 §19.5.2); at CPL 0 with IOPL 0 no bitmap is consulted anyway.
 */
export function buildTss(): Uint8Array {
  const out = new Uint8Array(TSS_SIZE);
  new DataView(out.buffer).setUint16(102, TSS_SIZE, true);
  return out;
}

/** `seg` as the struct kvm_segment field value, its padding byte cleared. */
const segmentField = (seg: KvmSegment): KvmSegment & { padding: number } => ({ ...seg, padding: 0 });

export function encodeSegment(dst: Uint8Array, offset: number, seg: KvmSegment): void {
  kvm_segment.encodeInto(dst, offset, segmentField(seg));
}

export function decodeSegment(src: Uint8Array, offset: number): KvmSegment {
  const { padding: _, ...seg } = kvm_segment.decode(src, offset);
  return seg;
}

export interface LongModeState {
  readonly cr3: bigint;
  readonly gdt: { readonly base: bigint; readonly limit: number };
  readonly tr: { readonly base: bigint; readonly limit: number; readonly selector: number };
}

/**
 * `current` (KVM_GET_SREGS) switched to 64-bit long mode with paging: flat
 * segments (CS L=1, DS/ES/FS/GS/SS data), TR the busy TSS, no LDT, the GDT,
 * an empty IDT (base 0, limit 0: any exception escalates to a triple fault,
 * KVM_EXIT_SHUTDOWN), CR0 PE|MP|ET|NE|PG, CR4 PAE, EFER LME|LMA (what
 * kvm_util's vcpu_init_sregs() sets up, minus what the agent does not use:
 * no SSE, no NX). CR2, CR8, the APIC base and the interrupt bitmap are
 * kept.
 */
export function encodeLongModeSregs(current: Uint8Array, s: LongModeState): Uint8Array {
  if (current.byteLength < SIZEOF_KVM_SREGS) throw new RangeError(`kvm_sregs: ${current.byteLength} bytes, need ${SIZEOF_KVM_SREGS}`);
  const out = current.slice(0, SIZEOF_KVM_SREGS);
  const data = segmentField(DATA_SEGMENT);
  const noPadding = [0, 0, 0];
  kvm_sregs.encodeInto(out, 0, {
    cs: segmentField(CODE64_SEGMENT), ds: data, es: data, fs: data, gs: data, ss: data,
    tr: segmentField({ ...tssSegment(s.tr.base), limit: s.tr.limit, selector: s.tr.selector }),
    ldt: segmentField(UNUSABLE_LDT),
    gdt: { base: s.gdt.base, limit: s.gdt.limit, padding: noPadding },
    idt: { base: 0n, limit: 0, padding: noPadding },
    cr0: X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG,
    cr3: s.cr3,
    cr4: X86_CR4_PAE,
    efer: EFER_LME | EFER_LMA,
  });
  return out;
}

/** RFLAGS bit 1 is reserved and always 1 (SDM Vol. 1 §3.4.3); IF=0, DF=0. */
export const X86_RFLAGS_FIXED = 2n;

/** struct kvm_regs with rip, rsp, rflags = 2 and every other register 0. */
export function encodeEntryRegs(rip: bigint, rsp: bigint): Uint8Array {
  return kvm_regs.encode({ rsp, rip, rflags: X86_RFLAGS_FIXED });
}
