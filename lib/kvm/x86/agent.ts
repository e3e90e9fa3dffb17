/**
 * The guest agent: a guest program (lib/kvm/guest_program.ts) compiled to
 * x86-64 machine code that runs in 64-bit long mode on a real vCPU, with
 * the semantics of the model's interpreter (lib/kvm/model/vcpu/interpreter.ts).
 *
 * Image layout, inside the program's area (identity-mapped, VA == GPA;
 * memory the program names at or above 2^47 is reached through alias
 * windows, paging.ts):
 *
 *   area.gpa   page tables (PML4, PDPTs, PDs)      CR3 = area.gpa
 *              GDT + TSS (one page)
 *              stack (two pages or more)           RSP = its top
 *              code                                RIP = its start
 *              data: ucall descriptors (format.ts)
 *
 * Registers: the program's r0..r7 live in r8..r15 (zero at entry); rax,
 * rbx, rcx, rdx, rsi, rdi are scratch; rbp holds a check's GPA (its
 * address may be an alias) and is otherwise only used inside ucall_send;
 * loop counters sit on the stack. Program order is code order, so an
 * exit's RIP always names the op that made it.
 *
 * What the guest does per op (restartable instructions where KVM may exit
 * in the middle: after KVM_EXIT_MEMORY_FAULT KVM re-executes the faulting
 * instruction, and a rep string instruction resumes from RCX/RDI, SDM Vol.
 * 2B "REP/REPE/REPZ"):
 * - write: rep stosb over the range; check: repe scasb, then the shared
 *   failure path formats the GUEST_CHECK_FORMAT detail and aborts;
 * - read: one load per page, of the widest of 8/4/2/1 bytes that fits the
 *   part of the range in that page (so one exit per page, as the model);
 * - load/store: one mov of the width, zero-extending;
 * - hypercall: RAX = nr, RBX/RCX/RDX/RSI = args, vmcall or vmmcall
 *   (Documentation/virt/kvm/x86/hypercalls.rst);
 * - ucall, fail, failed assert or expect: ucall_send (format.ts); after
 *   an abort's ucall the vCPU executes ud2: with no IDT that is a triple
 *   fault, KVM_EXIT_SHUTDOWN, what the model gives on the next KVM_RUN;
 * - end of the program: ud2 (SHUTDOWN, falling off guest_code);
 * - halt: cli; hlt, again if anything wakes it.
 */
import {
  GUEST_CHECK_FORMAT, GUEST_NR_REGS, expectMismatchFormat, guestCompare, isGuestReg, parseGuestFormat,
  type GuestArea, type GuestCmp, type GuestCond, type GuestOp, type GuestOperand, type GuestProgram, type GuestReg, type SourceLoc,
} from '../guest_program.js';
import { SIZEOF_UCALL, UCALL_ABORT } from '../uapi.js';
import { Asm, R, type Cond, type Gpr, type Label } from './asm.js';
import { emitUcallSend, encodeUcallDescriptor, messageParts, type TextPart, type ValueRef } from './format.js';
import {
  MAX_IDENTITY_GPA, PAGE_4K, buildIdentityMap, planIdentityMap, type GpaRange, type IdentityMapPlan, type Mapping,
} from './paging.js';
import { GDT_SIZE, GDT_TSS, TSS_SIZE, buildGdt, buildTss, encodeEntryRegs, encodeLongModeSregs } from './segments.js';

export interface AgentEnv {
  /** program.area: guest-physical bytes the agent may use (identity-mapped by its own page tables). */
  readonly area: GuestArea;
  /** program.ucallGpa: where each struct ucall is written. */
  readonly ucallGpa: bigint;
  /** The host VA of ucallGpa, stored in struct ucall's last field (`hva`), as the model does. */
  readonly ucallHva: bigint;
  /** By CPU vendor: Intel vmcall (0f 01 c1), AMD vmmcall (0f 01 d9). */
  readonly hypercall: 'vmcall' | 'vmmcall';
  /** CPUID 0x80000001 EDX bit 26: 1 GiB pages allowed, else 2 MiB pages. */
  readonly gbPages: boolean;
}

/** Where each part of the image went. */
export interface AgentLayout {
  readonly pageTables: GpaRange;
  readonly gdt: GpaRange;
  readonly tss: GpaRange;
  readonly stack: GpaRange;
  readonly code: GpaRange;
  readonly data: GpaRange;
  /** The identity map: page size and the (merged) ranges it maps. */
  readonly pageSize: bigint;
  readonly mapped: readonly GpaRange[];
  /** Every linear window, identity and alias (memory at or above 2^47), by VA. */
  readonly mappings: readonly Mapping[];
}

export interface AgentImage {
  /** Copied by the backend to area.gpa (length <= area.size). */
  readonly bytes: Uint8Array;
  readonly rip: bigint;
  readonly rsp: bigint;
  readonly cr3: bigint;
  readonly gdt: { readonly base: bigint; readonly limit: number };
  readonly tr: { readonly base: bigint; readonly limit: number; readonly selector: number };
  readonly layout: AgentLayout;
  /** The code and data as GNU as input (Intel syntax), when asked for. */
  readonly listing?: string;
}

/** A program the agent cannot compile: one line naming the op (file:line) and why. */
export class AgentError extends Error {
  constructor(message: string, readonly loc?: SourceLoc) {
    super(message);
    this.name = 'AgentError';
  }
}

export interface CompileOptions {
  /** Also return the GNU as listing of the code and data (tests). */
  readonly listing?: boolean;
}

/** Stack bytes ucall_send needs (format.ts) plus slack. */
const STACK_BASE_NEED = 512;
const MIN_STACK_PAGES = 2;
const GDT_PAGE = 4096n;
/** The TSS sits after the GDT in the same page, 16-byte aligned. */
const TSS_OFFSET = 0x40n;

const hex = (v: bigint | number): string => `0x${BigInt(v).toString(16)}`;
const where = (loc: SourceLoc): string => `${loc.file}:${loc.line}`;

function opError(op: GuestOp, why: string): AgentError {
  const name = op.op === 'platform' ? `platform op '${op.call}'` : `'${op.op}' op`;
  return new AgentError(`guest agent: ${name} (${where(op.loc)}) cannot be compiled: ${why}`, op.loc);
}

/** Every op, nested ones included, in program order. */
function* allOps(ops: readonly GuestOp[]): Generator<GuestOp> {
  for (const op of ops) {
    yield op;
    if (op.op === 'loop' || op.op === 'while') yield* allOps(op.body);
    else if (op.op === 'if') {
      yield* allOps(op.then);
      yield* allOps(op.else);
    }
  }
}

/** The constant GPA range an op touches, if any. */
function opRange(op: GuestOp): GpaRange | undefined {
  switch (op.op) {
    case 'write':
    case 'check':
    case 'read':
      return op.size > 0 ? { gpa: op.gpa, size: BigInt(op.size) } : undefined;
    case 'load':
    case 'store':
      return { gpa: op.gpa, size: BigInt(op.width) };
    default:
      return undefined;
  }
}

/** The deepest nesting of counted loops (each keeps its counter on the stack). */
function loopDepth(ops: readonly GuestOp[]): number {
  let d = 0;
  for (const op of ops) {
    if (op.op === 'loop') d = Math.max(d, (op.count !== 'forever' && op.count > 1 ? 1 : 0) + loopDepth(op.body));
    else if (op.op === 'while') d = Math.max(d, loopDepth(op.body));
    else if (op.op === 'if') d = Math.max(d, loopDepth(op.then), loopDepth(op.else));
  }
  return d;
}

const JCC: Record<GuestCmp, Cond> = { eq: 'e', ne: 'ne', ltu: 'b', leu: 'be', gtu: 'a', geu: 'ae' };
/** a CMP b ⇔ b SWAPPED a. */
const SWAPPED: Record<GuestCmp, GuestCmp> = { eq: 'eq', ne: 'ne', ltu: 'gtu', leu: 'geu', gtu: 'ltu', geu: 'leu' };
/** !(a CMP b) ⇔ a INVERTED b. */
const INVERTED: Record<GuestCmp, GuestCmp> = { eq: 'ne', ne: 'eq', ltu: 'geu', leu: 'gtu', gtu: 'leu', geu: 'ltu' };

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const fitsS32 = (v: bigint): boolean => {
  const s = BigInt.asIntN(64, v);
  return s >= -(1n << 31n) && s < 1n << 31n;
};

/** A condition one of whose comparisons is between constants and holds. */
const constTrue = (cond: GuestCond): boolean => cond.any.some((c) => !isGuestReg(c.a) && !isGuestReg(c.b) && guestCompare(c.a, c.cmp, c.b));

class Compiler {
  readonly a = new Asm();
  private readonly abort: Label;
  private readonly checkFail: Label;
  private readonly send: Label;
  private readonly descs = new Map<string, Label>();
  private readonly descList: { label: Label; bytes: Uint8Array }[] = [];
  /** Where the code ends and the data (descriptors) starts, 16-aligned after it. */
  readonly codeEnd: Label;
  readonly dataStart: Label;

  constructor(private readonly env: AgentEnv, private readonly plan: IdentityMapPlan) {
    this.abort = this.a.label('abort');
    this.checkFail = this.a.label('check_fail');
    this.send = this.a.label('ucall_send');
    this.codeEnd = this.a.label('code_end');
    this.dataStart = this.a.label('data');
  }

  /** The program, then the shared routines, then the descriptors. */
  compile(ops: readonly GuestOp[]): void {
    const a = this.a;
    this.ops(ops);
    // Falling off the end of guest_code: the model's SHUTDOWN.
    a.ud2();

    // check_fail: RBX = the range's linear address, RBP its GPA, RDI one past
    // the byte that differs, RSI = the descriptor; detail values: offset in
    // RDX, GPA in RDI, byte in RCX.
    a.bind(this.checkFail);
    a.dec(R.rdi);
    a.load(1, R.rcx, { base: R.rdi });
    a.mov(R.rdx, R.rdi);
    a.alu('sub', R.rdx, R.rbx);
    a.mov(R.rdi, R.rbp);
    a.alu('add', R.rdi, R.rdx);
    // abort: the UCALL_ABORT, then no way on.
    a.bind(this.abort);
    a.call(this.send);
    a.ud2();

    emitUcallSend(a, this.env, this.send);

    a.bind(this.codeEnd);
    a.align(16);
    a.bind(this.dataStart);
    for (const d of this.descList) {
      a.bind(d.label);
      a.data(d.bytes);
    }
  }

  private desc(cmd: ValueRef, args: readonly ValueRef[], text: readonly TextPart[]): Label {
    const bytes = encodeUcallDescriptor(cmd, args, text);
    const key = Buffer.from(bytes).toString('latin1');
    let l = this.descs.get(key);
    if (!l) {
      l = this.a.label('desc');
      this.descs.set(key, l);
      this.descList.push({ label: l, bytes });
    }
    return l;
  }

  /** The model's guestAssert(): args {0, 0, line}, `<file>:<line>: <expr>` plus `\n` and the detail if any. */
  private abortDesc(loc: SourceLoc, expr: string, detail: readonly TextPart[]): Label {
    const head = `${loc.file}:${loc.line}: ${expr}`;
    const text: TextPart[] = detail.length ? [`${head}\n`, ...detail] : [head];
    return this.desc({ imm: BigInt(UCALL_ABORT) }, [{ imm: 0n }, { imm: 0n }, { imm: BigInt(loc.line) }], text);
  }

  private reg(op: GuestOp, r: GuestReg): Gpr {
    if (!Number.isInteger(r.reg) || r.reg < 0 || r.reg >= GUEST_NR_REGS) {
      throw opError(op, `register ${JSON.stringify(r)} is not one of the ${GUEST_NR_REGS} guest registers`);
    }
    return (8 + r.reg) as Gpr;
  }

  private ref(op: GuestOp, v: GuestOperand): ValueRef {
    return isGuestReg(v) ? { reg: this.reg(op, v) } : { imm: u64(v) };
  }

  /** dst = operand. */
  private put(op: GuestOp, dst: Gpr, v: GuestOperand): void {
    if (isGuestReg(v)) {
      const src = this.reg(op, v);
      if (src !== dst) this.a.mov(dst, src);
    } else {
      this.a.movImm(dst, v);
    }
  }

  /** An assert's formatted detail; a message the recorder would have refused is the op's error. */
  private assertDetail(op: Extract<GuestOp, { op: 'assert' }>): TextPart[] {
    let parts: ReturnType<typeof parseGuestFormat>;
    try {
      parts = parseGuestFormat(op.message);
    } catch (e) {
      throw opError(op, (e as Error).message);
    }
    return parts.length ? messageParts(op.message, op.args.map((v) => this.ref(op, v))) : [];
  }

  /**
   * The linear address of an op's [gpa, gpa + size): the identity below
   * 2^47, else the alias window that holds the whole range.
   */
  private va(op: GuestOp, gpa: bigint, size = 1n): bigint {
    const m = this.plan.mappings.find((x) => gpa >= x.gpa && gpa + size <= x.gpa + x.size);
    if (!m) throw opError(op, `[${hex(gpa)}, +${hex(size)}) is not mapped (the page-table plan missed it)`);
    return m.va + (gpa - m.gpa);
  }

  private ops(ops: readonly GuestOp[]): void {
    for (const op of ops) this.op(op);
  }

  private op(op: GuestOp): void {
    const a = this.a;
    switch (op.op) {
      case 'write': {
        if (op.size <= 0) return;
        a.movImm(R.rdi, this.va(op, op.gpa, BigInt(op.size)));
        a.movImm(R.rcx, BigInt(op.size));
        a.mov8Imm(R.rax, op.pattern);
        a.repStosb();
        return;
      }
      case 'check': {
        if (op.size <= 0) return;
        const want = op.pattern & 0xff;
        const d = this.abortDesc(op.loc, op.expr, messageParts(GUEST_CHECK_FORMAT, [{ imm: BigInt(want) }, { reg: R.rdx }, { reg: R.rdi }, { reg: R.rcx }]));
        a.movImm(R.rdi, this.va(op, op.gpa, BigInt(op.size)));
        a.mov(R.rbx, R.rdi);
        a.movImm(R.rbp, op.gpa);
        a.movImm(R.rcx, BigInt(op.size));
        a.mov8Imm(R.rax, want);
        a.lea(R.rsi, { rip: d });
        a.repeScasb();
        a.j('ne', this.checkFail);
        return;
      }
      case 'read':
        if (op.size <= 0) return;
        return this.read(this.va(op, op.gpa, BigInt(op.size)), op.size);
      case 'load':
        a.movImm(R.rdi, this.va(op, op.gpa, BigInt(op.width)));
        a.load(op.width, this.reg(op, op.dst), { base: R.rdi });
        return;
      case 'store': {
        a.movImm(R.rdi, this.va(op, op.gpa, BigInt(op.width)));
        if (isGuestReg(op.value)) {
          a.store(op.width, { base: R.rdi }, this.reg(op, op.value));
        } else {
          const v = u64(op.value) & ((1n << BigInt(op.width * 8)) - 1n);
          if (op.width < 8 || fitsS32(v)) {
            a.storeImm(op.width, { base: R.rdi }, v);
          } else {
            a.movabs(R.rax, v);
            a.store(8, { base: R.rdi }, R.rax);
          }
        }
        return;
      }
      case 'mov':
        return this.put(op, this.reg(op, op.dst), op.src);
      case 'alu':
        return this.alu(op);
      case 'hypercall':
        return this.hypercall(op);
      case 'ucall': {
        const d = this.desc({ imm: BigInt(op.cmd) }, op.args.map((v) => this.ref(op, v)), op.text ? [op.text] : []);
        a.lea(R.rsi, { rip: d });
        a.call(this.send);
        return;
      }
      case 'fail': {
        a.lea(R.rsi, { rip: this.abortDesc(op.loc, op.expr, op.message ? [op.message] : []) });
        a.jmp(this.abort);
        return;
      }
      case 'assert': {
        if (constTrue(op.cond)) return;
        const ok = a.label('assert_ok');
        const detail = this.assertDetail(op);
        const d = this.abortDesc(op.loc, op.expr, detail);
        this.jumpIf(op, op.cond, ok);
        a.lea(R.rsi, { rip: d });
        a.jmp(this.abort);
        a.bind(ok);
        return;
      }
      case 'if': {
        if (!op.then.length && !op.else.length) return;
        const otherwise = a.label('else');
        const end = a.label('endif');
        this.jumpUnless(op, op.cond, otherwise);
        this.ops(op.then);
        if (op.else.length) a.jmp(end);
        a.bind(otherwise);
        this.ops(op.else);
        a.bind(end);
        return;
      }
      case 'while': {
        // Tested before each pass: enter at the test.
        const body = a.label('while');
        const test = a.label('while_test');
        a.jmp(test);
        a.bind(body);
        this.ops(op.body);
        a.bind(test);
        this.jumpIf(op, op.cond, body);
        return;
      }
      case 'loop':
        return this.loop(op);
      case 'halt': {
        // HLT returns on any wake-up (an interrupt, KVM_EXIT_HLT without an
        // in-kernel LAPIC): halt again, the vCPU never goes on.
        const l = a.here('halt');
        a.cli();
        a.hlt();
        a.jmp(l);
        return;
      }
      case 'platform':
        throw opError(op, 'the guest agent serves the default and SW_PROTECTED VM types only (no platform guest operations)');
    }
  }

  /**
   * `read`: one load per page, the widest of 8/4/2/1 bytes that fits the
   * bytes of the range in that page (first page from its start, then whole
   * pages, then the tail), so each page is touched exactly once. Pages of
   * an alias window are congruent with their GPAs, so `va` splits the same.
   */
  private read(va: bigint, size: number): void {
    if (size <= 0) return;
    const a = this.a;
    const width = (n: bigint): 1 | 2 | 4 | 8 => (n >= 8n ? 8 : n >= 4n ? 4 : n >= 2n ? 2 : 1);
    let at = va;
    let left = BigInt(size);
    const first = left < PAGE_4K - (at % PAGE_4K) ? left : PAGE_4K - (at % PAGE_4K);
    a.movImm(R.rdi, at);
    a.load(width(first), R.rax, { base: R.rdi });
    at += first;
    left -= first;
    const pages = left / PAGE_4K;
    if (pages === 1n) {
      a.movImm(R.rdi, at);
      a.load(8, R.rax, { base: R.rdi });
    } else if (pages > 1n) {
      a.movImm(R.rdi, at);
      a.movImm(R.rcx, pages);
      const l = a.here('read');
      a.load(8, R.rax, { base: R.rdi });
      a.aluImm('add', R.rdi, PAGE_4K);
      a.dec(R.rcx);
      a.j('ne', l);
    }
    at += pages * PAGE_4K;
    left -= pages * PAGE_4K;
    if (left > 0n) {
      a.movImm(R.rdi, at);
      a.load(width(left), R.rax, { base: R.rdi });
    }
  }

  private alu(op: Extract<GuestOp, { op: 'alu' }>): void {
    const a = this.a;
    const dst = this.reg(op, op.dst);
    if (op.fn === 'shl' || op.fn === 'shr') {
      if (isGuestReg(op.src)) {
        // The count in CL, taken mod 64 by the instruction, as guestAlu() does.
        this.put(op, R.rcx, op.src);
        a.shiftCl(op.fn, dst);
      } else if ((u64(op.src) & 63n) !== 0n) {
        a.shiftImm(op.fn, dst, Number(u64(op.src) & 63n));
      }
      return;
    }
    if (isGuestReg(op.src)) {
      a.alu(op.fn, dst, this.reg(op, op.src));
    } else if (fitsS32(op.src)) {
      a.aluImm(op.fn, dst, u64(op.src));
    } else {
      a.movabs(R.rax, u64(op.src));
      a.alu(op.fn, dst, R.rax);
    }
  }

  private hypercall(op: Extract<GuestOp, { op: 'hypercall' }>): void {
    const a = this.a;
    a.movImm(R.rax, op.nr);
    [R.rbx, R.rcx, R.rdx, R.rsi].forEach((r, i) => a.movImm(r, op.args[i] ?? 0n));
    if (this.env.hypercall === 'vmcall') a.vmcall();
    else a.vmmcall();
    if (op.dst) a.mov(this.reg(op, op.dst), R.rax);
    if (op.expect === undefined) return;
    const want = u64(op.expect);
    const d = this.abortDesc(op.loc, op.expr, messageParts(expectMismatchFormat(op.expr), [{ reg: R.rax }, { imm: want }]));
    this.cmpImm(R.rax, want, R.rcx);
    const ok = a.label('expect_ok');
    a.j('e', ok);
    a.lea(R.rsi, { rip: d });
    a.jmp(this.abort);
    a.bind(ok);
  }

  private loop(op: Extract<GuestOp, { op: 'loop' }>): void {
    const a = this.a;
    if (op.count === 'forever') {
      const top = a.here('forever');
      this.ops(op.body);
      a.jmp(top);
      return;
    }
    if (op.count <= 0 || op.body.length === 0) return;
    if (op.count === 1) {
      this.ops(op.body);
      return;
    }
    // The counter lives on the stack, so nested loops each have their own.
    if (op.count < 2 ** 31) {
      a.pushImm(op.count);
    } else {
      a.movImm(R.rax, BigInt(op.count));
      a.push(R.rax);
    }
    const top = a.here('loop');
    this.ops(op.body);
    a.decMem({ base: R.rsp });
    a.j('ne', top);
    // Drop the spent counter (RCX is scratch between ops).
    a.pop(R.rcx);
  }

  /** cmp r, imm (through `scratch` when imm is not a sign-extended imm32). */
  private cmpImm(r: Gpr, v: bigint, scratch: Gpr): void {
    if (fitsS32(v)) {
      this.a.aluImm('cmp', r, u64(v));
    } else {
      this.a.movabs(scratch, u64(v));
      this.a.alu('cmp', r, scratch);
    }
  }

  /**
   * Emit `cmp` for one comparison; returns the condition code to branch on,
   * or a boolean when both sides are constants.
   */
  private compare(op: GuestOp, c: { a: GuestOperand; cmp: GuestCmp; b: GuestOperand }): Cond | boolean {
    let { a: x, cmp, b: y } = c;
    if (!isGuestReg(x) && !isGuestReg(y)) return guestCompare(x, cmp, y);
    if (!isGuestReg(x)) {
      [x, y] = [y, x];
      cmp = SWAPPED[cmp];
    }
    const rx = this.reg(op, x as GuestReg);
    if (isGuestReg(y)) this.a.alu('cmp', rx, this.reg(op, y));
    else this.cmpImm(rx, y, R.rax);
    return JCC[cmp];
  }

  /** Jump to `target` when `cond` holds (any comparison true). */
  private jumpIf(op: GuestOp, cond: GuestCond, target: Label): void {
    if (constTrue(cond)) {
      this.a.jmp(target);
      return;
    }
    for (const c of cond.any) {
      const r = this.compare(op, c);
      if (typeof r !== 'boolean') this.a.j(r, target);
    }
  }

  /** Jump to `target` unless `cond` holds; falls through when it does. */
  private jumpUnless(op: GuestOp, cond: GuestCond, target: Label): void {
    if (constTrue(cond)) return;
    const live = cond.any.filter((c) => isGuestReg(c.a) || isGuestReg(c.b));
    if (!live.length) {
      this.a.jmp(target);
      return;
    }
    const body = this.a.label('then');
    live.forEach((c, i) => {
      if (i < live.length - 1) {
        this.a.j(this.compare(op, c) as Cond, body);
      } else {
        this.a.j(this.compare(op, { ...c, cmp: INVERTED[c.cmp] }) as Cond, target);
      }
    });
    this.a.bind(body);
  }
}

/** Lay out and build the image, or say why not. */
export function __compileGuestProgram(program: GuestProgram, env: AgentEnv, opts: CompileOptions = {}): AgentImage | AgentError {
  try {
    return compile(program, env, opts);
  } catch (e) {
    if (e instanceof AgentError) return e;
    throw e;
  }
}

/** compile a program for env; throws AgentError when it cannot be compiled. */
export function compileGuestProgram(program: GuestProgram, env: AgentEnv, opts: CompileOptions = {}): AgentImage {
  const r = __compileGuestProgram(program, env, opts);
  if (r instanceof AgentError) throw r;
  return r;
}

/** Bits 51:12 of a paging entry hold the frame: no x86 GPA reaches 2^52. */
const MAX_GPA = 1n << 52n;

function compile(program: GuestProgram, env: AgentEnv, opts: CompileOptions): AgentImage {
  const { area } = env;
  if (area.gpa % PAGE_4K !== 0n || area.size % PAGE_4K !== 0n || area.size <= 0n) {
    throw new AgentError(`guest agent: the area [${hex(area.gpa)}, +${hex(area.size)}) is not whole 4 KiB pages`);
  }
  const ranges: GpaRange[] = [
    { gpa: area.gpa, size: area.size },
    { gpa: env.ucallGpa, size: BigInt(SIZEOF_UCALL) },
  ];
  for (const r of ranges) {
    if (r.gpa < 0n || r.gpa + r.size > MAX_IDENTITY_GPA) {
      throw new AgentError(`guest agent: ${r === ranges[0] ? 'the area' : 'the ucall struct'} [${hex(r.gpa)}, +${hex(r.size)}) is not below 2^47 (4-level identity paging)`);
    }
  }
  const high: GpaRange[] = [];
  for (const op of allOps(program.ops)) {
    if (op.op === 'platform') throw opError(op, 'the guest agent serves the default and SW_PROTECTED VM types only (no platform guest operations)');
    if ((op.op === 'write' || op.op === 'check' || op.op === 'read') && !Number.isSafeInteger(op.size)) throw opError(op, `size ${op.size} is not an integer`);
    if (op.op === 'loop' && op.count !== 'forever' && !Number.isSafeInteger(op.count)) throw opError(op, `count ${op.count} is not an integer`);
    const r = opRange(op);
    if (!r) continue;
    if (r.gpa < 0n || r.gpa + r.size > MAX_GPA) {
      throw opError(op, `[${hex(r.gpa)}, +${hex(r.size)}) is not below 2^52 (the widest guest physical address x86 has)`);
    }
    // A range that reaches 2^47 has no canonical identity address: all of it goes through an alias window.
    if (r.gpa + r.size > MAX_IDENTITY_GPA) high.push(r);
    else ranges.push(r);
  }
  let plan: IdentityMapPlan;
  try {
    plan = planIdentityMap(ranges, env.gbPages, high);
  } catch (e) {
    throw new AgentError(`guest agent: ${(e as Error).message}`);
  }

  const c = new Compiler(env, plan);
  c.compile(program.ops);
  const asm = c.a.assemble({ listing: opts.listing === true });

  const ptSize = BigInt(plan.tables) * PAGE_4K;
  const stackPages = Math.max(MIN_STACK_PAGES, Math.ceil((8 * loopDepth(program.ops) + STACK_BASE_NEED) / 4096));
  const stackSize = BigInt(stackPages) * PAGE_4K;
  const codeSize = BigInt(asm.labels.get(c.codeEnd)!);
  const dataStart = BigInt(asm.labels.get(c.dataStart)!);
  const dataSize = BigInt(asm.bytes.length) - dataStart;
  const total = ptSize + GDT_PAGE + stackSize + BigInt(asm.bytes.length);
  if (total > area.size) {
    throw new AgentError(
      `guest agent: the program (${program.ops.length} top-level ops) does not fit its area [${hex(area.gpa)}, +${hex(area.size)}): `
      + `page tables ${hex(ptSize)} (${plan.tables} tables) + GDT/TSS ${hex(GDT_PAGE)} + stack ${hex(stackSize)} + code ${hex(codeSize)} + data ${hex(dataSize)} = ${hex(total)} bytes`,
    );
  }
  const ptBase = area.gpa;
  const gdtBase = ptBase + ptSize;
  const tssBase = gdtBase + TSS_OFFSET;
  const stackBase = gdtBase + GDT_PAGE;
  const codeBase = stackBase + stackSize;
  const bytes = new Uint8Array(Number(total));
  bytes.set(buildIdentityMap(ptBase, plan), 0);
  bytes.set(buildGdt(tssBase), Number(gdtBase - area.gpa));
  bytes.set(buildTss(), Number(tssBase - area.gpa));
  bytes.set(asm.bytes, Number(codeBase - area.gpa));
  return {
    bytes,
    rip: codeBase,
    rsp: codeBase,
    cr3: ptBase,
    gdt: { base: gdtBase, limit: GDT_SIZE - 1 },
    tr: { base: tssBase, limit: TSS_SIZE - 1, selector: GDT_TSS },
    layout: {
      pageTables: { gpa: ptBase, size: ptSize },
      gdt: { gpa: gdtBase, size: BigInt(GDT_SIZE) },
      tss: { gpa: tssBase, size: BigInt(TSS_SIZE) },
      stack: { gpa: stackBase, size: stackSize },
      code: { gpa: codeBase, size: codeSize },
      data: { gpa: codeBase + dataStart, size: dataSize },
      pageSize: plan.pageSize,
      mapped: plan.ranges,
      mappings: plan.mappings,
    },
    ...(asm.listing !== undefined ? { listing: asm.listing } : {}),
  };
}

/**
 * KVM_GET_SREGS bytes → 64-bit long mode: flat segments (CS 0x8 L=1, data
 * 0x10), TR the busy 64-bit TSS, CR0 PE|MP|ET|NE|PG, CR4 PAE, EFER
 * LME|LMA, the image's CR3 and GDT, IDT base 0 limit 0 (any exception
 * triple-faults: KVM_EXIT_SHUTDOWN).
 */
export function longModeSregs(current: Uint8Array, image: AgentImage): Uint8Array {
  return encodeLongModeSregs(current, image);
}

/** struct kvm_regs for the image's entry: rip, rsp, rflags = 2, the rest 0. */
export function agentRegs(image: AgentImage): Uint8Array {
  return encodeEntryRegs(image.rip, image.rsp);
}
