/**
 * The guest program recorder. Guest code is an ordinary TypeScript function
 * that receives a GuestBuilder and the vCPU's arguments (vcpuArgsSet) and
 * calls builder methods; each call appends one GuestOp, stamped with the
 * test-source line that made it. Tables and loops stay TypeScript: a `for`
 * over test_ranges[] simply records the ops of every iteration.
 *
 *   const guestCode: GuestCode = (g, base) => {
 *     g.memset(base, size, 0xaa);
 *     g.memcmp(base, size, 0xaa);
 *     kvmHypercallMapGpaRange(g, base, size, flags);
 *     g.sync(1n);
 *     g.done();
 *   };
 *
 * What cannot be known at record time (memory contents, a hypercall's return)
 * is checked by the backend when it executes the op (`check`, `expect`).
 */
import {
  GUEST_NR_REGS, guestFormatArity, type GuestAlu, type GuestCmp, type GuestCompare, type GuestCond, type GuestOp,
  type GuestOperand, type GuestProgram, type GuestReg, type GuestView, type GuestWidth, type SourceLoc,
} from '../kvm/guest_program.js';
import type { GuestAddrArg } from '../kvm/addr.js';
import { lazyCallerLoc } from './source_loc.js';
import { UCALL_DONE, UCALL_MAX_ARGS, UCALL_PRINTF, UCALL_SYNC } from '../kvm/uapi.js';
import type { Num } from '../libc/int.js';

/** Guest code: records ops for one vCPU, given vcpu_args_set()'s arguments. */
export type GuestCode = (g: GuestBuilder, ...args: bigint[]) => void;

/*
 * Record-time argument checks. Guest code is TypeScript, but values reach
 * the builder from tables, JSON and computations the compiler cannot see
 * through; a wrong type or range is refused here, naming the call and the
 * argument, rather than becoming an internal error when a backend runs the op.
 */
const U64_MAX = (1n << 64n) - 1n;
const S64_MIN = -(1n << 63n);
const describe = (v: unknown): string => (v === undefined || v === null ? String(v) : typeof v === 'string' ? `string ${JSON.stringify(v)}` : typeof v === 'bigint' ? `${v}n` : typeof v === 'object' ? JSON.stringify(v) ?? String(v) : `${typeof v} ${String(v)}`);

/** An integer argument as a bigint: a bigint, or a number that is a safe integer. */
function integer(where: string, name: string, v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`${where}: ${name} must be an integer, got ${describe(v)}`);
    return BigInt(v);
  }
  throw new TypeError(`${where}: ${name} must be a bigint or an integer number, got ${describe(v)}`);
}
/** An address or other u64: 0 .. 2^64-1. */
function u64(where: string, name: string, v: unknown): bigint {
  const b = integer(where, name, v);
  if (b < 0n || b > U64_MAX) throw new RangeError(`${where}: ${name} must be in 0..2^64-1, got ${b}`);
  return b;
}
/** A register-sized value: a u64, or a negative s64 as C's cast to u64 takes it. */
function word(where: string, name: string, v: unknown): bigint {
  const b = integer(where, name, v);
  if (b < S64_MIN || b > U64_MAX) throw new RangeError(`${where}: ${name} does not fit 64 bits, got ${b}`);
  return b;
}
/** A byte count the interpreter walks: 0 .. Number.MAX_SAFE_INTEGER. */
function size(where: string, v: unknown): number {
  const b = u64(where, 'size', v);
  if (b > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${where}: size ${b} is too large`);
  return Number(b);
}
/** memset()'s int: any integer, of which the guest stores the low byte (unsigned char), as C does. */
function byte(where: string, v: unknown): number {
  return Number(BigInt.asUintN(8, integer(where, 'pattern', v)));
}
function str(where: string, name: string, v: unknown): string {
  if (typeof v !== 'string') throw new TypeError(`${where}: ${name} must be a string, got ${describe(v)}`);
  return v;
}
function fn<T>(where: string, name: string, v: T): T {
  if (typeof v !== 'function') throw new TypeError(`${where}: ${name} must be a function, got ${describe(v)}`);
  return v;
}
function oneOf<T extends string>(where: string, name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new RangeError(`${where}: ${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}
const VIEWS: readonly GuestView[] = ['auto', 'private', 'shared'];
const CMPS: readonly GuestCmp[] = ['eq', 'ne', 'ltu', 'leu', 'gtu', 'geu'];
const ALUS: readonly GuestAlu[] = ['add', 'sub', 'and', 'or', 'xor', 'shl', 'shr'];
const view = (where: string, opts: MemOpts | undefined): GuestView => (opts?.view === undefined ? 'auto' : oneOf(where, 'view', opts.view, VIEWS));
/** A register, or a constant given as bigint or number. */
export type GuestValue = GuestReg | Num;
const operand = (v: GuestValue): GuestOperand => (typeof v === 'object' ? v : BigInt(v));

/** A comparison for if/while/assert: `cmp(val, 'eq', 1)`. */
export function cmp(a: GuestValue, op: GuestCmp, b: GuestValue): GuestCompare {
  return { a: operand(a), cmp: op, b: operand(b) };
}
/** `a == b`. */
export const eq = (a: GuestValue, b: GuestValue): GuestCond => ({ any: [cmp(a, 'eq', b)] });
/** `a != b`. */
export const ne = (a: GuestValue, b: GuestValue): GuestCond => ({ any: [cmp(a, 'ne', b)] });
/** `c1 || c2 || ...`. */
export const any = (...conds: (GuestCond | GuestCompare)[]): GuestCond =>
  ({ any: conds.flatMap((c) => ('any' in c ? c.any : [c])) });
const hex = (v: number): string => `0x${v.toString(16)}`;

export interface MemOpts {
  readonly view?: GuestView;
}
export interface CheckOpts extends MemOpts {
  /** The GUEST_ASSERT expression text to report; default `mem[i] == <pattern>`. */
  readonly expr?: string;
}
export interface HypercallOpts {
  /** GUEST_ASSERT that RAX equals this after the call. */
  readonly expect?: Num;
  /** The expression text reported when `expect` fails. */
  readonly expr?: string;
  /** A register that receives RAX (the hypercall's return value). */
  readonly dst?: GuestReg;
}

/**
 * The recorder guest code writes to: each method appends one op stamped with the
 * calling line. Memory (memset, memcmp, read, load, store), hypercalls and
 * ucalls (sync, syncN, printf, done, fail), registers and control flow the
 * guest decides (reg, mov, alu, if, while, loop, assert), platform operations
 * (platform) and halt. docs/guest-api.md walks through them.
 *
 * @example
 * ```ts
 * const program = recordGuestProgram((g, base) => {
 *   g.memset(base, 4096, 0xaa);
 *   const r = g.reg();
 *   g.load(r, base, 8);
 *   g.assertEq(r, 0xaaaaaaaaaaaaaaaan, 'first qword');
 *   g.done();
 * }, [COCO_TEST_GPA]);
 * TEST_ASSERT_EQ(program.ops.length, 4);
 * ```
 */
export class GuestBuilder {
  private readonly frames: GuestOp[][] = [[]];
  private nextReg = 0;

  /** The ops recorded so far (top level). */
  get ops(): readonly GuestOp[] {
    return this.frames[0]!;
  }

  private push(op: GuestOp): void {
    this.frames[this.frames.length - 1]!.push(op);
  }

  private loc(): SourceLoc {
    return lazyCallerLoc();
  }

  /** memset() through the guest's mapping: write `pattern` to [gpa, gpa+size). */
  memset(gpa: GuestAddrArg, len: Num, pattern: number, opts: MemOpts = {}): void {
    const w = 'g.memset()';
    this.push({ op: 'write', gpa: u64(w, 'gpa', gpa), size: size(w, len), pattern: byte(w, pattern), view: view(w, opts), loc: this.loc() });
  }

  /**
   * memcmp_g(): GUEST_ASSERT that every byte of [gpa, gpa+size) equals
   * `pattern`; the first mismatch aborts the guest with a UCALL_ABORT.
   */
  memcmp(gpa: GuestAddrArg, len: Num, pattern: number, opts: CheckOpts = {}): void {
    const w = 'g.memcmp()';
    const p = byte(w, pattern);
    this.push({
      op: 'check', gpa: u64(w, 'gpa', gpa), size: size(w, len), pattern: p, view: view(w, opts),
      expr: opts.expr === undefined ? `mem[i] == ${hex(p)}` : str(w, 'expr', opts.expr), loc: this.loc(),
    });
  }

  /** READ_ONCE() over a range: touch it (faults happen) without checking the data. */
  read(gpa: GuestAddrArg, len: Num, opts: MemOpts = {}): void {
    const w = 'g.read()';
    this.push({ op: 'read', gpa: u64(w, 'gpa', gpa), size: size(w, len), view: view(w, opts), loc: this.loc() });
  }

  /** kvm_hypercall(nr, a0..a3): vmcall with RAX=nr, RBX, RCX, RDX, RSI. */
  hypercall(nr: Num, args: readonly Num[], opts: HypercallOpts = {}): void {
    const w = 'g.hypercall()';
    if (!Array.isArray(args)) throw new TypeError(`${w}: args must be an array, got ${describe(args)}`);
    if (args.length > 4) throw new RangeError('kvm_hypercall takes at most 4 args');
    const expect = opts.expect === undefined ? undefined : word(w, 'expect', opts.expect);
    const op: GuestOp = {
      op: 'hypercall', nr: u64(w, 'nr', nr), args: args.map((a, i) => word(w, `args[${i}]`, a)),
      ...(expect !== undefined ? { expect } : {}),
      ...(opts.dst !== undefined ? { dst: this.checkReg(opts.dst) } : {}),
      expr: opts.expr !== undefined ? str(w, 'expr', opts.expr) : expect !== undefined ? `ret == ${expect}` : '', loc: this.loc(),
    };
    this.push(op);
  }

  /** ucall(cmd, nargs, ...): the PIO ucall with args[0..] (constants or registers) and an optional buffer text. */
  ucall(cmd: number, args: readonly GuestValue[] = [], text?: string): void {
    const w = 'g.ucall()';
    if (!Number.isSafeInteger(cmd) || cmd < 0) throw new TypeError(`${w}: cmd must be a non-negative integer number, got ${describe(cmd)}`);
    if (!Array.isArray(args)) throw new TypeError(`${w}: args must be an array, got ${describe(args)}`);
    if (args.length > UCALL_MAX_ARGS) throw new RangeError(`ucall takes at most ${UCALL_MAX_ARGS} args`);
    const ops = args.map((a, i) => this.value(a, w, `args[${i}]`));
    this.push({ op: 'ucall', cmd, args: ops, ...(text !== undefined ? { text: str(w, 'text', text) } : {}), loc: this.loc() });
  }

  /** GUEST_SYNC(stage): ucall(UCALL_SYNC, 2, "hello", stage); args[1] is the stage. */
  sync(stage: GuestValue): void {
    this.ucall(UCALL_SYNC, [0n, stage]);
  }

  /** GUEST_SYNC1..6(a0, ...): args[0..] are the values given. */
  syncN(...args: GuestValue[]): void {
    this.ucall(UCALL_SYNC, args);
  }

  /** GUEST_PRINTF(): the text is formatted at record time and lands in the ucall buffer. */
  printf(text: string): void {
    this.ucall(UCALL_PRINTF, [], text);
  }

  /** GUEST_DONE(). */
  done(): void {
    this.ucall(UCALL_DONE);
  }

  /** GUEST_FAIL(fmt): an unconditional UCALL_ABORT. */
  fail(message: string): void {
    this.push({ op: 'fail', expr: 'Unconditional guest failure', message: str('g.fail()', 'message', message), loc: this.loc() });
  }

  /**
   * __GUEST_ASSERT(cond, fmt, ...). A `boolean` condition is known when the
   * program is recorded (a computed size, a table entry): a `fail` op is
   * recorded if it is false. A GuestCond is tested by the guest when it
   * runs; `message` is printf-formatted in the guest with `args`
   * (%lx, %#lx, %lu, %ld, %%).
   */
  assert(cond: boolean | GuestCond | GuestCompare, expr: string, message = expr, ...args: GuestValue[]): void {
    str('g.assert()', 'expr', expr);
    str('g.assert()', 'message', message);
    if (typeof cond === 'boolean') {
      if (!cond) this.push({ op: 'fail', expr, message, loc: this.loc() });
      return;
    }
    if (typeof cond !== 'object' || cond === null) throw new TypeError(`g.assert(): cond must be a boolean or a guest condition (eq(), cmp(), any()), got ${describe(cond)}`);
    const arity = guestFormatArity(message);
    if (arity !== args.length) throw new RangeError(`guest assert '${message}': ${arity} conversions but ${args.length} values`);
    this.push({ op: 'assert', cond: this.cond(cond), expr, message, args: args.map((a) => this.value(a)), loc: this.loc() });
  }

  /** GUEST_ASSERT_EQ(a, b): `a == b`, reporting `%#lx != %#lx (a != b)`. */
  assertEq(a: GuestValue, b: GuestValue, textA = String(typeof a === 'object' ? `r${a.reg}` : a), textB = String(typeof b === 'object' ? `r${b.reg}` : b)): void {
    const esc = (s: string): string => s.replace(/%/g, '%%');
    this.assert(eq(a, b), `${textA} == ${textB}`, `%#lx != %#lx (${esc(textA)} != ${esc(textB)})`, a, b);
  }

  /** A fresh register (zero when the guest starts); a program has GUEST_NR_REGS of them. */
  reg(): GuestReg {
    if (this.nextReg >= GUEST_NR_REGS) throw new RangeError(`a guest program has ${GUEST_NR_REGS} registers`);
    return { reg: this.nextReg++ };
  }

  /** READ_ONCE(*(uN *)gpa) into `dst`, zero-extended. */
  load(dst: GuestReg, gpa: GuestAddrArg, width: GuestWidth = 8, opts: MemOpts = {}): void {
    const w = 'g.load()';
    this.push({ op: 'load', dst: this.checkReg(dst), gpa: u64(w, 'gpa', gpa), width: checkWidth(width), view: view(w, opts), loc: this.loc() });
  }

  /** WRITE_ONCE(*(uN *)gpa, value): the low `width` bytes of a constant or register. */
  store(gpa: GuestAddrArg, value: GuestValue, width: GuestWidth = 8, opts: MemOpts = {}): void {
    const w = 'g.store()';
    this.push({ op: 'store', gpa: u64(w, 'gpa', gpa), width: checkWidth(width), value: this.value(value, w, 'value'), view: view(w, opts), loc: this.loc() });
  }

  /** dst = src. */
  mov(dst: GuestReg, src: GuestValue): void {
    this.push({ op: 'mov', dst: this.checkReg(dst), src: this.value(src, 'g.mov()', 'src'), loc: this.loc() });
  }

  /** dst = dst <fn> src (unsigned 64-bit; shifts by src mod 64). */
  alu(fn: GuestAlu, dst: GuestReg, src: GuestValue): void {
    this.push({ op: 'alu', fn: oneOf('g.alu()', 'fn', fn, ALUS), dst: this.checkReg(dst), src: this.value(src, 'g.alu()', 'src'), loc: this.loc() });
  }

  /** if (cond) { then } else { otherwise }, decided by the guest. */
  if(cond: GuestCond | GuestCompare, then: (g: GuestBuilder) => void, otherwise?: (g: GuestBuilder) => void): void {
    const loc = this.loc();
    if (otherwise !== undefined) fn('g.if()', 'otherwise', otherwise);
    const c = this.cond(cond);
    const t = this.body(then);
    const e = otherwise ? this.body(otherwise) : [];
    this.push({ op: 'if', cond: c, then: t, else: e, loc });
  }

  /** while (cond) { body }: the guest tests `cond` before every pass. */
  while(cond: GuestCond | GuestCompare, body: (g: GuestBuilder) => void): void {
    const loc = this.loc();
    const c = this.cond(cond);
    this.push({ op: 'while', cond: c, body: this.body(body), loc });
  }

  /**
   * guest_spin_on_val(): `dst = READ_ONCE(*gpa)` until it differs from
   * `value` (set_memory_region_test). An access that finds no memslot is
   * MMIO: the value is whatever the host answers.
   */
  spinWhileEq(dst: GuestReg, gpa: GuestAddrArg, value: GuestValue, width: GuestWidth = 8): void {
    this.load(dst, gpa, width);
    this.while(eq(dst, value), (g) => g.load(dst, gpa, width));
  }

  private body(code: (g: GuestBuilder) => void): GuestOp[] {
    fn('guest control flow', 'body', code);
    this.frames.push([]);
    try {
      code(this);
    } catch (e) {
      this.frames.pop();
      throw e;
    }
    return this.frames.pop()!;
  }

  private checkReg(r: GuestReg): GuestReg {
    if (typeof r !== 'object' || r === null || !Number.isInteger(r.reg) || r.reg < 0 || r.reg >= this.nextReg) {
      throw new RangeError(`not a register of this guest program: ${JSON.stringify(r)} (get one from g.reg())`);
    }
    return r;
  }

  private value(v: GuestValue, where = 'guest value', name = 'value'): GuestOperand {
    if (typeof v === 'object' && v !== null) return this.checkReg(v);
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new RangeError(`guest value ${v} is not an integer`);
    return word(where, name, v);
  }

  private cond(c: GuestCond | GuestCompare): GuestCond {
    if (typeof c !== 'object' || c === null) throw new TypeError(`a guest condition must come from eq(), ne(), cmp() or any(), got ${describe(c)}`);
    const all = 'any' in c ? c.any : [c];
    if (!Array.isArray(all) || all.length === 0) throw new RangeError('a guest condition needs at least one comparison');
    for (const x of all) {
      oneOf('a guest comparison', 'cmp', x.cmp, CMPS);
      this.value(x.a, 'a guest comparison', 'a');
      this.value(x.b, 'a guest comparison', 'b');
    }
    return { any: all };
  }

  /** Repeat the ops `body` records, `count` times or forever (for (;;)). */
  loop(count: number | 'forever', body: (g: GuestBuilder) => void): void {
    const loc = this.loc();
    if (count !== 'forever' && (!Number.isSafeInteger(count) || count < 0)) throw new RangeError(`loop count ${count}: must be a non-negative integer or 'forever'`);
    this.push({ op: 'loop', count, body: this.body(body), loc });
  }

  /** A platform's own guest operation (TDX accept, SNP PVALIDATE, ...). */
  platform(call: string, args: Readonly<Record<string, bigint | number | string | boolean>>, opts: HypercallOpts = {}): void {
    const w = 'g.platform()';
    str(w, 'call', call);
    if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new TypeError(`${w} ${call}: args must be an object of named values, got ${describe(args)}`);
    for (const [k, v] of Object.entries(args)) {
      if (typeof v === 'number' ? !Number.isSafeInteger(v) : typeof v !== 'bigint' && typeof v !== 'string' && typeof v !== 'boolean') {
        throw new TypeError(`${w} ${call}: args.${k} must be a bigint, an integer number, a string or a boolean, got ${describe(v)}`);
      }
    }
    const expect = opts.expect === undefined ? undefined : word(w, 'expect', opts.expect);
    this.push({
      op: 'platform', call, args,
      ...(expect !== undefined ? { expect } : {}),
      ...(opts.dst !== undefined ? { dst: this.checkReg(opts.dst) } : {}),
      expr: opts.expr !== undefined ? str(w, 'expr', opts.expr) : expect !== undefined ? `status == ${expect}` : call, loc: this.loc(),
    });
  }

  /** hlt with interrupts off: the vCPU stops for good. */
  halt(): void {
    this.push({ op: 'halt', loc: this.loc() });
  }
}

function checkWidth(w: unknown): GuestWidth {
  if (w !== 1 && w !== 2 && w !== 4 && w !== 8) throw new RangeError(`guest access width ${w}: must be 1, 2, 4 or 8 bytes`);
  return w;
}

/** Run `code` with `args` against a fresh builder and return the program it records. */
export function recordGuestProgram(code: GuestCode, args: readonly bigint[] = []): GuestProgram {
  const g = new GuestBuilder();
  code(g, ...args);
  return { ops: g.ops };
}
