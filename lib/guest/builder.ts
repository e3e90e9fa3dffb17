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
import type { GuestOp, GuestProgram, GuestView, SourceLoc } from './program.js';
import { callerLoc } from './source_loc.js';
import { UCALL_DONE, UCALL_MAX_ARGS, UCALL_PRINTF, UCALL_SYNC } from '../kvm/uapi.js';

/** Guest code: records ops for one vCPU, given vcpu_args_set()'s arguments. */
export type GuestCode = (g: GuestBuilder, ...args: bigint[]) => void;

type Num = bigint | number;
const big = (v: Num): bigint => BigInt(v);
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
}

export class GuestBuilder {
  private readonly frames: GuestOp[][] = [[]];

  /** The ops recorded so far (top level). */
  get ops(): readonly GuestOp[] {
    return this.frames[0]!;
  }

  private push(op: GuestOp): void {
    this.frames[this.frames.length - 1]!.push(op);
  }

  private loc(): SourceLoc {
    return callerLoc();
  }

  /** memset() through the guest's mapping: write `pattern` to [gpa, gpa+size). */
  memset(gpa: Num, size: Num, pattern: number, opts: MemOpts = {}): void {
    this.push({ op: 'write', gpa: big(gpa), size: Number(size), pattern: pattern & 0xff, view: opts.view ?? 'auto', loc: this.loc() });
  }

  /**
   * memcmp_g(): GUEST_ASSERT that every byte of [gpa, gpa+size) equals
   * `pattern`; the first mismatch aborts the guest with a UCALL_ABORT.
   */
  memcmp(gpa: Num, size: Num, pattern: number, opts: CheckOpts = {}): void {
    this.push({
      op: 'check', gpa: big(gpa), size: Number(size), pattern: pattern & 0xff, view: opts.view ?? 'auto',
      expr: opts.expr ?? `mem[i] == ${hex(pattern & 0xff)}`, loc: this.loc(),
    });
  }

  /** READ_ONCE() over a range: touch it (faults happen) without checking the data. */
  read(gpa: Num, size: Num, opts: MemOpts = {}): void {
    this.push({ op: 'read', gpa: big(gpa), size: Number(size), view: opts.view ?? 'auto', loc: this.loc() });
  }

  /** kvm_hypercall(nr, a0..a3): vmcall with RAX=nr, RBX, RCX, RDX, RSI. */
  hypercall(nr: Num, args: readonly Num[], opts: HypercallOpts = {}): void {
    const op: GuestOp = {
      op: 'hypercall', nr: big(nr), args: args.map(big),
      ...(opts.expect !== undefined ? { expect: big(opts.expect) } : {}),
      expr: opts.expr ?? (opts.expect !== undefined ? `ret == ${big(opts.expect)}` : ''), loc: this.loc(),
    };
    this.push(op);
  }

  /** ucall(cmd, nargs, ...): the PIO ucall with args[0..] and an optional buffer text. */
  ucall(cmd: number, args: readonly Num[] = [], text?: string): void {
    if (args.length > UCALL_MAX_ARGS) throw new RangeError(`ucall takes at most ${UCALL_MAX_ARGS} args`);
    this.push({ op: 'ucall', cmd, args: args.map(big), ...(text !== undefined ? { text } : {}), loc: this.loc() });
  }

  /** GUEST_SYNC(stage): ucall(UCALL_SYNC, 2, "hello", stage); args[1] is the stage. */
  sync(stage: Num): void {
    this.ucall(UCALL_SYNC, [0n, stage]);
  }

  /** GUEST_SYNC1..6(a0, ...): args[0..] are the values given. */
  syncN(...args: Num[]): void {
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
    this.push({ op: 'fail', expr: 'Unconditional guest failure', message, loc: this.loc() });
  }

  /**
   * __GUEST_ASSERT(cond, fmt) for a condition known when the program is
   * recorded (a computed size, a table entry): records a `fail` op if false.
   */
  assert(cond: boolean, expr: string, message = expr): void {
    if (!cond) this.push({ op: 'fail', expr, message, loc: this.loc() });
  }

  /** Repeat the ops `body` records, `count` times or forever (for (;;)). */
  loop(count: number | 'forever', body: (g: GuestBuilder) => void): void {
    const loc = this.loc();
    this.frames.push([]);
    try {
      body(this);
    } finally {
      const ops = this.frames.pop()!;
      this.push({ op: 'loop', count, body: ops, loc });
    }
  }

  /** A platform's own guest operation (TDX accept, SNP PVALIDATE, ...). */
  platform(call: string, args: Readonly<Record<string, bigint | number | string | boolean>>, opts: HypercallOpts = {}): void {
    this.push({
      op: 'platform', call, args,
      ...(opts.expect !== undefined ? { expect: big(opts.expect) } : {}),
      expr: opts.expr ?? (opts.expect !== undefined ? `status == ${big(opts.expect)}` : call), loc: this.loc(),
    });
  }

  /** hlt with interrupts off: the vCPU stops for good. */
  halt(): void {
    this.push({ op: 'halt', loc: this.loc() });
  }
}

/** Run `code` with `args` against a fresh builder and return the program it records. */
export function recordGuestProgram(code: GuestCode, args: readonly bigint[] = []): GuestProgram {
  const g = new GuestBuilder();
  code(g, ...args);
  return { ops: g.ops };
}
