import t from 'tap';
import {
  CODE64_SEGMENT, DATA_SEGMENT, EFER_LMA, EFER_LME, GDT_CODE64, GDT_DATA, GDT_SIZE, GDT_TSS, KVM_SREGS_OFFSET, SIZEOF_KVM_SREGS,
  TSS_SIZE, X86_CR0_NE, X86_CR0_PE, X86_CR0_PG, X86_CR4_PAE, buildGdt, buildTss, decodeSegment, encodeEntryRegs,
  encodeLongModeSregs, segmentDescriptor, tssDescriptor, tssSegment,
} from '../../../../lib/kvm/x86/segments.js';
import { SIZEOF_KVM_REGS } from '../../../../lib/kvm/uapi.js';

t.test('descriptors: the usual flat long-mode values (SDM Vol. 3A §3.4.5, §8.2.3)', async (t) => {
  t.equal(segmentDescriptor(CODE64_SEGMENT), 0x00af9b000000ffffn, 'code: G=1 L=1 D=0, P DPL0 S type 0xb, limit 0xfffff');
  t.equal(segmentDescriptor(DATA_SEGMENT), 0x00cf93000000ffffn, 'data: G=1 D/B=1, P DPL0 S type 3');
  const [lo, hi] = tssDescriptor(tssSegment(0x1234567890abcdefn));
  t.equal(lo, 0x90008babcdef0067n, 'TSS low: limit 0x67, base[31:0] split, P type 0xb (busy 64-bit TSS), S=0, G=0');
  t.equal(hi, 0x12345678n, 'TSS high: base[63:32]');
  const gdt = buildGdt(0x203040n);
  t.equal(gdt.length, GDT_SIZE);
  const dv = new DataView(gdt.buffer);
  t.equal(dv.getBigUint64(0, true), 0n, 'null descriptor');
  t.equal(dv.getBigUint64(GDT_CODE64, true), 0x00af9b000000ffffn);
  t.equal(dv.getBigUint64(GDT_DATA, true), 0x00cf93000000ffffn);
  t.equal(dv.getBigUint64(GDT_TSS, true), 0x00008b2030400067n);
  t.equal(dv.getBigUint64(GDT_TSS + 8, true), 0n);
  const tss = buildTss();
  t.equal(tss.length, TSS_SIZE);
  t.equal(new DataView(tss.buffer).getUint16(102, true), TSS_SIZE, 'I/O map base at the limit: no bitmap');
});

t.test('kvm_sregs: long mode over what KVM_GET_SREGS returned', async (t) => {
  const current = new Uint8Array(SIZEOF_KVM_SREGS);
  const cdv = new DataView(current.buffer);
  const o = KVM_SREGS_OFFSET;
  cdv.setBigUint64(o.cs, 0xffff0000n, true);
  cdv.setBigUint64(o.cr2, 0x1111n, true);
  cdv.setBigUint64(o.cr8, 0x5n, true);
  cdv.setBigUint64(o.apic_base, 0xfee00900n, true);
  cdv.setBigUint64(o.interrupt_bitmap + 8, 0x42n, true);
  const s = encodeLongModeSregs(current, { cr3: 0x200000n, gdt: { base: 0x203000n, limit: GDT_SIZE - 1 }, tr: { base: 0x203040n, limit: TSS_SIZE - 1, selector: GDT_TSS } });
  t.equal(s.length, 312);
  t.not(s.buffer, current.buffer, 'a copy');
  const dv = new DataView(s.buffer);
  t.same(decodeSegment(s, o.cs), CODE64_SEGMENT, 'CS');
  for (const seg of ['ds', 'es', 'fs', 'gs', 'ss'] as const) t.same(decodeSegment(s, o[seg]), DATA_SEGMENT, seg.toUpperCase());
  t.same(decodeSegment(s, o.tr), tssSegment(0x203040n), 'TR');
  const ldt = decodeSegment(s, o.ldt);
  t.equal(ldt.unusable, 1, 'LDTR unusable');
  t.equal(ldt.present, 0);
  // Raw offsets, as the kernel header lays struct kvm_segment out.
  t.equal(dv.getUint16(o.cs + 12, true), 0x8, 'cs.selector @12');
  t.equal(s[o.cs + 14], 0xb, 'cs.type @14');
  t.equal(s[o.cs + 15], 1, 'cs.present @15');
  t.equal(s[o.cs + 19], 1, 'cs.l @19');
  t.equal(s[o.cs + 20], 1, 'cs.g @20');
  t.equal(dv.getUint32(o.ss + 8, true), 0xffffffff, 'ss.limit @8');
  t.equal(s[o.ss + 17], 1, 'ss.db @17');
  t.equal(dv.getBigUint64(o.tr, true), 0x203040n, 'tr.base @0');
  t.equal(s[o.tr + 18], 0, 'tr.s @18');
  t.equal(dv.getBigUint64(192, true), 0x203000n, 'gdt.base @192');
  t.equal(dv.getUint16(200, true), GDT_SIZE - 1, 'gdt.limit @200');
  t.equal(dv.getBigUint64(208, true), 0n, 'idt.base @208');
  t.equal(dv.getUint16(216, true), 0, 'idt.limit @216: any exception is a triple fault');
  t.equal(dv.getBigUint64(224, true), X86_CR0_PE | 2n | 0x10n | X86_CR0_NE | X86_CR0_PG, 'cr0 @224: PE MP ET NE PG');
  t.equal(dv.getBigUint64(232, true), 0x1111n, 'cr2 kept');
  t.equal(dv.getBigUint64(240, true), 0x200000n, 'cr3 @240');
  t.equal(dv.getBigUint64(248, true), X86_CR4_PAE, 'cr4 @248: PAE');
  t.equal(dv.getBigUint64(256, true), 5n, 'cr8 kept');
  t.equal(dv.getBigUint64(264, true), EFER_LME | EFER_LMA, 'efer @264: LME LMA');
  t.equal(dv.getBigUint64(272, true), 0xfee00900n, 'apic_base kept');
  t.equal(dv.getBigUint64(288, true), 0x42n, 'interrupt_bitmap kept');
  t.throws(() => encodeLongModeSregs(new Uint8Array(100), { cr3: 0n, gdt: { base: 0n, limit: 0 }, tr: { base: 0n, limit: 0, selector: 0 } }), /312/);
});

t.test('kvm_regs: rip @128, rsp @48, rflags @136 = 2, the rest zero', async (t) => {
  const r = encodeEntryRegs(0x20a000n, 0x209000n);
  t.equal(r.length, SIZEOF_KVM_REGS);
  const dv = new DataView(r.buffer);
  t.equal(dv.getBigUint64(128, true), 0x20a000n);
  t.equal(dv.getBigUint64(48, true), 0x209000n);
  t.equal(dv.getBigUint64(136, true), 2n);
  let others = 0n;
  for (let i = 0; i < 18; i++) if (![6, 16, 17].includes(i)) others |= dv.getBigUint64(i * 8, true);
  t.equal(others, 0n, 'rax..r15 except rsp are zero: the program registers start at 0');
});
