/**
 * A small x86-64 assembler for the guest agent: the instruction forms the
 * agent emits, encoded as Intel SDM Vol. 2 (§2.1 instruction format, §2.2.1
 * REX prefixes, §2.1.5 ModR/M and SIB) describes them, with labels, short or
 * near jumps chosen by relaxation, and RIP-relative references to labels.
 *
 * Where the SDM allows several encodings, the one GNU as picks is used (the
 * accumulator short forms of ALU-with-immediate, D1 for a shift by one,
 * 89 /r for register moves), so a listing of the same instructions
 * assembled by `as --64` gives the same bytes; the encoder tests compare
 * exactly that. Every instruction records its Intel-syntax text for the
 * listing.
 */

/** General-purpose registers by encoding number (SDM Vol. 2A §2.2.1.2, Table 2-4 ... 3-1). */
export const R = {
  rax: 0, rcx: 1, rdx: 2, rbx: 3, rsp: 4, rbp: 5, rsi: 6, rdi: 7,
  r8: 8, r9: 9, r10: 10, r11: 11, r12: 12, r13: 13, r14: 14, r15: 15,
} as const;
export type Gpr = (typeof R)[keyof typeof R];

const NAMES64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const NAMES32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const NAMES16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
/** With a REX prefix, byte registers 4..7 are spl..dil, not ah..bh (SDM Vol. 2A §3.7.2.1). */
const NAMES8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b'];

/** Operand widths in bytes. */
export type Width = 1 | 2 | 4 | 8;

export function regName(r: Gpr, width: Width = 8): string {
  return (width === 8 ? NAMES64 : width === 4 ? NAMES32 : width === 2 ? NAMES16 : NAMES8)[r]!;
}

/** A place in the code or data, bound once. */
export class Label {
  constructor(readonly id: number, readonly hint: string) {}
  get name(): string {
    return `.L${this.hint}${this.id}`;
  }
}

/** A memory operand [base + index*scale + disp]. */
export interface Mem {
  readonly base: Gpr;
  readonly index?: Gpr;
  readonly scale?: 1 | 2 | 4 | 8;
  readonly disp?: number;
}
/** A RIP-relative memory operand [rip + label]. */
export interface RipMem {
  readonly rip: Label;
}
export type MemOperand = Mem | RipMem;

/** Condition codes, the low nibble of Jcc/CMOVcc (SDM Vol. 2A Appendix B.1.4.7, Table B-10). */
export const CC = { o: 0, no: 1, b: 2, ae: 3, e: 4, ne: 5, be: 6, a: 7, s: 8, ns: 9, p: 10, np: 11, l: 12, ge: 13, le: 14, g: 15 } as const;
export type Cond = keyof typeof CC;
const CC_NAMES = Object.keys(CC) as Cond[];

/** ALU operations with their /digit in 80/81/83 and their r/m,reg opcode (SDM Vol. 2 "ADD", "OR", ...). */
const ALU = { add: 0, or: 1, and: 4, sub: 5, xor: 6, cmp: 7 } as const;
export type AluOp = keyof typeof ALU;
/** Shift group 2: /4 SHL, /5 SHR (SDM Vol. 2B "SAL/SAR/SHL/SHR"). */
const SHIFT = { shl: 4, shr: 5 } as const;
export type ShiftOp = keyof typeof SHIFT;

type Item =
  | { readonly k: 'code'; readonly b: readonly number[]; readonly text: string }
  /** Code with a 32-bit displacement to `label` at byte `at`, relative to the end of the instruction. */
  | { readonly k: 'rip'; readonly b: readonly number[]; readonly at: number; readonly label: Label; readonly text: string }
  /** jmp (cc -1) or jcc: EB/7x rel8 or E9/0F 8x rel32. */
  | { readonly k: 'jump'; readonly cc: number; readonly label: Label; long: boolean }
  | { readonly k: 'call'; readonly label: Label }
  | { readonly k: 'label'; readonly label: Label }
  | { readonly k: 'align'; readonly n: number }
  | { readonly k: 'data'; readonly b: Uint8Array };

export interface Assembled {
  readonly bytes: Uint8Array;
  /** Offsets of the bound labels. */
  readonly labels: ReadonlyMap<Label, number>;
  /** The same code and data as GNU as input (Intel syntax), when asked for. */
  readonly listing?: string;
}

const fits8 = (v: number): boolean => v >= -128 && v <= 127;
const fitsS32 = (v: bigint): boolean => v >= -(1n << 31n) && v < 1n << 31n;

function le(v: bigint, n: number): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(n * 8, v);
  for (let i = 0; i < n; i++, x >>= 8n) out.push(Number(x & 0xffn));
  return out;
}

const hex = (v: bigint | number): string => {
  const b = BigInt(v);
  return b < 0n ? `-0x${(-b).toString(16)}` : `0x${b.toString(16)}`;
};

const isRip = (m: MemOperand): m is RipMem => 'rip' in m;

const PTR: Record<Width, string> = { 1: 'byte ptr', 2: 'word ptr', 4: 'dword ptr', 8: 'qword ptr' };

function memText(m: MemOperand, width?: Width): string {
  const ptr = width ? `${PTR[width]} ` : '';
  if (isRip(m)) return `${ptr}[rip+${m.rip.name}]`;
  let s = NAMES64[m.base]!;
  if (m.index !== undefined) s += `+${NAMES64[m.index]}*${m.scale ?? 1}`;
  const d = m.disp ?? 0;
  if (d) s += d < 0 ? `-${hex(-d)}` : `+${hex(d)}`;
  return `${ptr}[${s}]`;
}

export class Asm {
  private readonly items: Item[] = [];
  private nextLabel = 0;

  /** A new, unbound label; `hint` only names it in the listing. */
  label(hint = ''): Label {
    return new Label(this.nextLabel++, hint.replace(/[^A-Za-z0-9_]/g, '_'));
  }

  bind(l: Label): void {
    this.items.push({ k: 'label', label: l });
  }

  /** A bound label here. */
  here(hint = ''): Label {
    const l = this.label(hint);
    this.bind(l);
    return l;
  }

  align(n: number): void {
    this.items.push({ k: 'align', n });
  }

  data(b: Uint8Array): void {
    this.items.push({ k: 'data', b });
  }

  private code(b: number[], text: string): void {
    this.items.push({ k: 'code', b, text });
  }

  /**
   * One instruction with a ModR/M operand: [66] [REX] opcode modrm [sib] [disp] [imm].
   * `reg` is the ModR/M reg field (a register or an opcode /digit), `rm` a
   * register (mod 11) or memory. `byteRegs` forces a REX prefix when a
   * register-direct byte operand is spl..dil (SDM Vol. 2A §3.7.2.1).
   */
  private modrm(
    o: { p66?: boolean; w?: boolean; op: number[]; reg: number; rm: Gpr | MemOperand; imm?: number[]; byteRegs?: number[] }, text: string,
  ): void {
    const out: number[] = [];
    if (o.p66) out.push(0x66);
    let rex = (o.w ? 8 : 0) | ((o.reg >> 3) << 2);
    let modrm: number[];
    let ripAt = -1;
    let ripLabel: Label | undefined;
    if (typeof o.rm === 'number') {
      rex |= o.rm >> 3;
      modrm = [0xc0 | ((o.reg & 7) << 3) | (o.rm & 7)];
    } else if (isRip(o.rm)) {
      // mod 00 r/m 101: RIP + disp32 in 64-bit mode (SDM Vol. 2A §2.2.1.6).
      modrm = [((o.reg & 7) << 3) | 5, 0, 0, 0, 0];
      ripLabel = o.rm.rip;
      ripAt = 1;
    } else {
      const { base, index } = o.rm;
      const disp = o.rm.disp ?? 0;
      if (index === R.rsp) throw new RangeError('rsp cannot be an index register');
      rex |= (base >> 3) | (index !== undefined ? (index >> 3) << 1 : 0);
      // rbp/r13 as a base has no mod 00 form (that encodes RIP/disp32): use disp8 0.
      const mod = disp === 0 && (base & 7) !== 5 ? 0 : fits8(disp) ? 1 : 2;
      const dispBytes = mod === 0 ? [] : mod === 1 ? le(BigInt(disp), 1) : le(BigInt(disp), 4);
      if (index !== undefined || (base & 7) === 4) {
        // A SIB byte: needed for an index, and for rsp/r12 as a base (r/m 100).
        const ss = { 1: 0, 2: 1, 4: 2, 8: 3 }[o.rm.scale ?? 1];
        modrm = [(mod << 6) | ((o.reg & 7) << 3) | 4, (ss << 6) | (((index ?? 4) & 7) << 3) | (base & 7), ...dispBytes];
      } else {
        modrm = [(mod << 6) | ((o.reg & 7) << 3) | (base & 7), ...dispBytes];
      }
    }
    const needRex = rex !== 0 || (o.byteRegs ?? []).some((r) => r >= 4 && r <= 7);
    if (needRex) out.push(0x40 | rex);
    out.push(...o.op);
    const at = out.length + ripAt;
    out.push(...modrm, ...(o.imm ?? []));
    if (ripLabel) this.items.push({ k: 'rip', b: out, at, label: ripLabel, text });
    else this.code(out, text);
  }

  /** An opcode with the register in its low 3 bits (50+r, 58+r, B8+r): REX.B extends it. */
  private opReg(op: number, r: Gpr, w: boolean, tail: number[], text: string): void {
    const rex = (w ? 8 : 0) | (r >> 3);
    this.code([...(rex ? [0x40 | rex] : []), op + (r & 7), ...tail], text);
  }

  // ---- moves ----

  /** mov r64, imm64 (REX.W B8+r io). */
  movabs(r: Gpr, v: bigint): void {
    this.opReg(0xb8, r, true, le(v, 8), `movabs ${NAMES64[r]}, ${hex(BigInt.asUintN(64, v))}`);
  }

  /** mov r32, imm32 (B8+r id): the upper half of the register is zeroed (SDM Vol. 1 §3.4.1.1). */
  movR32Imm(r: Gpr, v: number): void {
    this.opReg(0xb8, r, false, le(BigInt(v), 4), `mov ${NAMES32[r]}, ${hex(v >>> 0)}`);
  }

  /** mov r/m64, simm32 (REX.W C7 /0 id), sign-extended. */
  movR64Simm32(r: Gpr, v: bigint): void {
    this.modrm({ w: true, op: [0xc7], reg: 0, rm: r, imm: le(v, 4) }, `mov ${NAMES64[r]}, ${hex(v)}`);
  }

  /** mov r8, imm8 (B0+r ib). */
  mov8Imm(r: Gpr, v: number): void {
    const rex = r >> 3 ? 0x41 : r >= 4 ? 0x40 : 0;
    this.code([...(rex ? [rex] : []), 0xb0 + (r & 7), v & 0xff], `mov ${NAMES8[r]}, ${hex(v & 0xff)}`);
  }

  /** xor r32, r32: zero a register in two or three bytes (flags change). */
  zero(r: Gpr): void {
    this.alu32('xor', r, r);
  }

  /** The shortest way to put a 64-bit constant in a register (flags may change). */
  movImm(r: Gpr, value: bigint): void {
    const v = BigInt.asUintN(64, value);
    if (v === 0n) this.zero(r);
    else if (v < 1n << 32n) this.movR32Imm(r, Number(v));
    else if (fitsS32(BigInt.asIntN(64, v))) this.movR64Simm32(r, BigInt.asIntN(64, v));
    else this.movabs(r, v);
  }

  /** mov r64, r64 (REX.W 89 /r). */
  mov(dst: Gpr, src: Gpr): void {
    this.modrm({ w: true, op: [0x89], reg: src, rm: dst }, `mov ${NAMES64[dst]}, ${NAMES64[src]}`);
  }

  /**
   * A zero-extending load of `width` bytes: movzx r32, byte/word (0F B6/B7),
   * mov r32 (8B, zero-extends), mov r64 (REX.W 8B).
   */
  load(width: Width, dst: Gpr, m: MemOperand): void {
    const t = memText(m, width);
    switch (width) {
      case 1: return this.modrm({ op: [0x0f, 0xb6], reg: dst, rm: m }, `movzx ${NAMES32[dst]}, ${t}`);
      case 2: return this.modrm({ op: [0x0f, 0xb7], reg: dst, rm: m }, `movzx ${NAMES32[dst]}, ${t}`);
      case 4: return this.modrm({ op: [0x8b], reg: dst, rm: m }, `mov ${NAMES32[dst]}, ${t}`);
      case 8: return this.modrm({ w: true, op: [0x8b], reg: dst, rm: m }, `mov ${NAMES64[dst]}, ${t}`);
    }
  }

  /** mov m, r of `width` bytes (88, 66 89, 89, REX.W 89). */
  store(width: Width, m: MemOperand, src: Gpr): void {
    const t = `mov ${memText(m, width)}, ${regName(src, width)}`;
    this.modrm({ p66: width === 2, w: width === 8, op: [width === 1 ? 0x88 : 0x89], reg: src, rm: m, byteRegs: width === 1 ? [src] : [] }, t);
  }

  /** mov m, imm of `width` bytes (C6 /0 ib, 66 C7 /0 iw, C7 /0 id, REX.W C7 /0 id sign-extended). */
  storeImm(width: Width, m: MemOperand, v: bigint): void {
    if (width === 8 && !fitsS32(BigInt.asIntN(64, v))) throw new RangeError(`storeImm: ${hex(v)} is not a sign-extended imm32`);
    const n = width === 8 ? 4 : width;
    const shown = width === 8 ? BigInt.asIntN(64, v) : BigInt.asUintN(width * 8, v);
    this.modrm({ p66: width === 2, w: width === 8, op: [width === 1 ? 0xc6 : 0xc7], reg: 0, rm: m, imm: le(v, n) },
      `mov ${memText(m, width)}, ${hex(shown)}`);
  }

  /** lea r64, m (REX.W 8D /r). */
  lea(dst: Gpr, m: MemOperand): void {
    this.modrm({ w: true, op: [0x8d], reg: dst, rm: m }, `lea ${NAMES64[dst]}, ${memText(m)}`);
  }

  /** movzx r32, r8 (0F B6 /r). */
  movzxR8(dst: Gpr, src: Gpr): void {
    this.modrm({ op: [0x0f, 0xb6], reg: dst, rm: src, byteRegs: [src] }, `movzx ${NAMES32[dst]}, ${NAMES8[src]}`);
  }

  /** cmovcc r64, r64 (REX.W 0F 40+cc /r). */
  cmov(cc: Cond, dst: Gpr, src: Gpr): void {
    this.modrm({ w: true, op: [0x0f, 0x40 + CC[cc]], reg: dst, rm: src }, `cmov${cc} ${NAMES64[dst]}, ${NAMES64[src]}`);
  }

  // ---- arithmetic ----

  /** op r64, r64 (REX.W 01/09/21/29/31/39 /r: r/m = dst, reg = src). */
  alu(op: AluOp, dst: Gpr, src: Gpr): void {
    this.modrm({ w: true, op: [(ALU[op] << 3) | 1], reg: src, rm: dst }, `${op} ${NAMES64[dst]}, ${NAMES64[src]}`);
  }

  /** op r32, r32. */
  alu32(op: AluOp, dst: Gpr, src: Gpr): void {
    this.modrm({ op: [(ALU[op] << 3) | 1], reg: src, rm: dst }, `${op} ${NAMES32[dst]}, ${NAMES32[src]}`);
  }

  /**
   * op r64, simm32: 83 /n ib when it fits a signed byte, the accumulator
   * form REX.W 05/0D/25/2D/35/3D id for rax, else 81 /n id.
   */
  aluImm(op: AluOp, dst: Gpr, value: bigint): void {
    const v = BigInt.asIntN(64, value);
    if (!fitsS32(v)) throw new RangeError(`aluImm: ${hex(v)} is not a sign-extended imm32`);
    const text = `${op} ${NAMES64[dst]}, ${hex(v)}`;
    if (fits8(Number(v))) this.modrm({ w: true, op: [0x83], reg: ALU[op], rm: dst, imm: le(v, 1) }, text);
    else if (dst === R.rax) this.code([0x48, (ALU[op] << 3) | 5, ...le(v, 4)], text);
    else this.modrm({ w: true, op: [0x81], reg: ALU[op], rm: dst, imm: le(v, 4) }, text);
  }

  /** op r8, imm8: the accumulator form 04/0C/.../3C ib for al, else 80 /n ib. */
  alu8Imm(op: AluOp, dst: Gpr, v: number): void {
    const text = `${op} ${NAMES8[dst]}, ${hex(v & 0xff)}`;
    if (dst === R.rax) this.code([(ALU[op] << 3) | 4, v & 0xff], text);
    else this.modrm({ op: [0x80], reg: ALU[op], rm: dst, imm: [v & 0xff], byteRegs: [dst] }, text);
  }

  /** test r64, r64 (REX.W 85 /r). */
  test(a: Gpr, b: Gpr): void {
    this.modrm({ w: true, op: [0x85], reg: b, rm: a }, `test ${NAMES64[a]}, ${NAMES64[b]}`);
  }

  /** test r8, r8 (84 /r). */
  test8(a: Gpr, b: Gpr): void {
    this.modrm({ op: [0x84], reg: b, rm: a, byteRegs: [a, b] }, `test ${NAMES8[a]}, ${NAMES8[b]}`);
  }

  /** shl/shr r64, imm8 (REX.W C1 /n ib; D1 /n for a count of 1, as GNU as encodes it). */
  shiftImm(op: ShiftOp, r: Gpr, count: number): void {
    const n = count & 63;
    const text = `${op} ${NAMES64[r]}, ${n}`;
    if (n === 1) this.modrm({ w: true, op: [0xd1], reg: SHIFT[op], rm: r }, text);
    else this.modrm({ w: true, op: [0xc1], reg: SHIFT[op], rm: r, imm: [n] }, text);
  }

  /** shl/shr r64, cl (REX.W D3 /n): the count is taken mod 64 (SDM Vol. 2B "SAL/SAR/SHL/SHR"). */
  shiftCl(op: ShiftOp, r: Gpr): void {
    this.modrm({ w: true, op: [0xd3], reg: SHIFT[op], rm: r }, `${op} ${NAMES64[r]}, cl`);
  }

  /** inc/dec r64 (REX.W FF /0, /1). */
  inc(r: Gpr): void {
    this.modrm({ w: true, op: [0xff], reg: 0, rm: r }, `inc ${NAMES64[r]}`);
  }
  dec(r: Gpr): void {
    this.modrm({ w: true, op: [0xff], reg: 1, rm: r }, `dec ${NAMES64[r]}`);
  }
  /** dec r32 (FF /1). */
  dec32(r: Gpr): void {
    this.modrm({ op: [0xff], reg: 1, rm: r }, `dec ${NAMES32[r]}`);
  }
  /** dec qword [m] (REX.W FF /1). */
  decMem(m: Mem): void {
    this.modrm({ w: true, op: [0xff], reg: 1, rm: m }, `dec ${memText(m, 8)}`);
  }

  /** div r64 (REX.W F7 /6): rdx:rax / r → rax quotient, rdx remainder. */
  div(r: Gpr): void {
    this.modrm({ w: true, op: [0xf7], reg: 6, rm: r }, `div ${NAMES64[r]}`);
  }

  // ---- stack ----

  push(r: Gpr): void {
    this.opReg(0x50, r, false, [], `push ${NAMES64[r]}`);
  }
  pop(r: Gpr): void {
    this.opReg(0x58, r, false, [], `pop ${NAMES64[r]}`);
  }
  /** push simm32 (6A ib or 68 id), sign-extended to 64 bits. */
  pushImm(v: number): void {
    if (!fitsS32(BigInt(v))) throw new RangeError(`pushImm: ${v} is not a sign-extended imm32`);
    this.code(fits8(v) ? [0x6a, v & 0xff] : [0x68, ...le(BigInt(v), 4)], `push ${hex(v)}`);
  }

  // ---- string instructions (SDM Vol. 2B "REP/REPE", "STOS", "SCAS", "MOVS", "LODS") ----

  repStosb(): void { this.code([0xf3, 0xaa], 'rep stosb'); }
  repeScasb(): void { this.code([0xf3, 0xae], 'repe scasb'); }
  repMovsb(): void { this.code([0xf3, 0xa4], 'rep movsb'); }
  stosb(): void { this.code([0xaa], 'stosb'); }
  stosq(): void { this.code([0x48, 0xab], 'stosq'); }
  lodsb(): void { this.code([0xac], 'lodsb'); }
  /** lodsd: eax = [rsi], the upper half of rax zeroed. */
  lodsd(): void { this.code([0xad], 'lodsd'); }
  lodsq(): void { this.code([0x48, 0xad], 'lodsq'); }

  // ---- control flow ----

  jmp(l: Label): void {
    this.items.push({ k: 'jump', cc: -1, label: l, long: false });
  }
  j(cc: Cond, l: Label): void {
    this.items.push({ k: 'jump', cc: CC[cc], label: l, long: false });
  }
  call(l: Label): void {
    this.items.push({ k: 'call', label: l });
  }
  ret(): void { this.code([0xc3], 'ret'); }

  // ---- system ----

  /** mov dx, imm16 (66 BA iw). */
  movDx(v: number): void {
    this.code([0x66, 0xba, ...le(BigInt(v), 2)], `mov dx, ${hex(v & 0xffff)}`);
  }
  /** in al, dx (EC): a 1-byte port read, KVM_EXIT_IO IN when userspace handles the port. */
  inAlDx(): void { this.code([0xec], 'in al, dx'); }
  /** VMCALL (0F 01 C1), Intel (SDM Vol. 2C "VMCALL"). */
  vmcall(): void { this.code([0x0f, 0x01, 0xc1], 'vmcall'); }
  /** VMMCALL (0F 01 D9), AMD (APM Vol. 3 "VMMCALL"). */
  vmmcall(): void { this.code([0x0f, 0x01, 0xd9], 'vmmcall'); }
  /** UD2 (0F 0B): #UD, a triple fault without an IDT. */
  ud2(): void { this.code([0x0f, 0x0b], 'ud2'); }
  cli(): void { this.code([0xfa], 'cli'); }
  hlt(): void { this.code([0xf4], 'hlt'); }

  /**
   * Lay out and encode. Jumps start short and grow to near when their
   * target is out of rel8 reach, until nothing changes (sizes only grow, so
   * this ends), as GNU as relaxes them.
   */
  assemble(opts: { readonly listing?: boolean } = {}): Assembled {
    const size = (it: Item, at: number): number => {
      switch (it.k) {
        case 'code':
        case 'rip': return it.b.length;
        case 'jump': return it.long ? (it.cc < 0 ? 5 : 6) : 2;
        case 'call': return 5;
        case 'label': return 0;
        case 'align': return (it.n - (at % it.n)) % it.n;
        case 'data': return it.b.length;
      }
    };
    const offsets = new Array<number>(this.items.length);
    const labels = new Map<Label, number>();
    const layout = (): number => {
      let at = 0;
      labels.clear();
      this.items.forEach((it, i) => {
        offsets[i] = at;
        if (it.k === 'label') {
          if (labels.has(it.label)) throw new RangeError(`label ${it.label.name} bound twice`);
          labels.set(it.label, at);
        }
        at += size(it, at);
      });
      return at;
    };
    const target = (l: Label): number => {
      const t = labels.get(l);
      if (t === undefined) throw new RangeError(`label ${l.name} is never bound`);
      return t;
    };
    let total = layout();
    for (let changed = true; changed;) {
      changed = false;
      this.items.forEach((it, i) => {
        if (it.k === 'jump' && !it.long && !fits8(target(it.label) - (offsets[i]! + 2))) {
          it.long = true;
          changed = true;
        }
      });
      if (changed) total = layout();
    }
    const bytes = new Uint8Array(total);
    const lines: string[] | undefined = opts.listing ? ['.intel_syntax noprefix', '.text'] : undefined;
    const say = (line: string): void => {
      lines?.push(line);
    };
    const put = (at: number, b: readonly number[]): void => bytes.set(b, at);
    this.items.forEach((it, i) => {
      const at = offsets[i]!;
      switch (it.k) {
        case 'code':
          put(at, it.b);
          say(`\t${it.text}`);
          break;
        case 'rip': {
          const b = [...it.b];
          b.splice(it.at, 4, ...le(BigInt(target(it.label) - (at + it.b.length)), 4));
          put(at, b);
          say(`\t${it.text}`);
          break;
        }
        case 'jump': {
          const t = target(it.label);
          const name = it.cc < 0 ? 'jmp' : `j${CC_NAMES[it.cc]}`;
          if (it.long) {
            const rel = le(BigInt(t - (at + (it.cc < 0 ? 5 : 6))), 4);
            put(at, it.cc < 0 ? [0xe9, ...rel] : [0x0f, 0x80 + it.cc, ...rel]);
            say(`\t${name} ${it.label.name}`);
          } else {
            put(at, [it.cc < 0 ? 0xeb : 0x70 + it.cc, (t - (at + 2)) & 0xff]);
            say(`\t${name} ${it.label.name}`);
          }
          break;
        }
        case 'call':
          put(at, [0xe8, ...le(BigInt(target(it.label) - (at + 5)), 4)]);
          say(`\tcall ${it.label.name}`);
          break;
        case 'label':
          say(`${it.label.name}:`);
          break;
        case 'align':
          say(`\t.balign ${it.n}, 0`);
          break;
        case 'data':
          bytes.set(it.b, at);
          for (let j = 0; j < it.b.length; j += 16) say(`\t.byte ${Array.from(it.b.subarray(j, j + 16)).join(',')}`);
          break;
      }
    });
    return { bytes, labels, ...(lines ? { listing: `${lines.join('\n')}\n` } : {}) };
  }
}
