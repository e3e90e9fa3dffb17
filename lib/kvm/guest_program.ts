/**
 * Guest code as data: part of the backend contract (Backend.setGuestProgram).
 * A guest program is a list of operations the vCPU executes: the model
 * interprets it, the `kvm` backend compiles it to x86-64 machine code (the
 * guest agent) and runs it in real guest memory. The format is plain data
 * (numbers, bigints, strings), so either backend can take it.
 *
 * Semantics every backend honours:
 * - Memory operations act in address order; a fault exits to the host
 *   (KVM_EXIT_MEMORY_FAULT, KVM_RUN = -1/EFAULT) and the next KVM_RUN retries
 *   the faulting access, as a re-executed instruction would. A shared access
 *   to a GPA no memslot covers is emulated MMIO: a `load` takes the value the
 *   host leaves in kvm_run->mmio.data, a `store` hands its bytes over.
 * - `view` says how the guest marks the access: `private`/`shared` set or
 *   clear the platform's marker (TDX shared bit, SEV C-bit, CCA top IPA bit);
 *   `auto` uses what the guest's own page tables say (the state its last
 *   conversion asked for). Platforms without a marker ignore it.
 * - `check` is GUEST_ASSERT over memory: on the first mismatching byte the
 *   guest sends UCALL_ABORT whose buffer reads `<file>:<line>: <expr>` plus
 *   the expected/actual detail, and stops.
 * - `hypercall` puts nr/args in RAX/RBX/RCX/RDX/RSI, executes vmcall (vmmcall
 *   on AMD), and, if `expect` is given, GUEST_ASSERTs that RAX equals it.
 * - `ucall` is the x86 PIO ucall: KVM_EXIT_IO (IN) on port 0x1000 with RDI
 *   holding the address of a `struct ucall` in shared guest memory.
 * - Registers: a program has GUEST_NR_REGS 64-bit registers (`{ reg: n }`),
 *   zero at entry. `load`, `mov`, `alu` and `hypercall` write them; ucall
 *   arguments, stores, conditions and assert messages read them. `if` and
 *   `while` branch on comparisons of registers and constants (unsigned), so
 *   a guest can read a value, compare, branch and spin until a GPA changes.
 */

/** A place in the test's TypeScript source, captured when the op was recorded. */
export interface SourceLoc {
  readonly file: string;
  readonly line: number;
}

/**
 * Which mapping a guest access goes through: the platform's private or shared
 * view, or 'auto' (what the guest's own page tables say: the attribute, on the
 * platforms with an address bit).
 */
export type GuestView = 'auto' | 'private' | 'shared';

/** How many registers a guest program has (the agent keeps them in r8..r15). */
export const GUEST_NR_REGS = 8;

/** A guest register. */
export interface GuestReg {
  readonly reg: number;
}

/** A constant or a register. */
export type GuestOperand = bigint | GuestReg;

/** Unsigned 64-bit comparisons. */
export type GuestCmp = 'eq' | 'ne' | 'ltu' | 'leu' | 'gtu' | 'geu';

/** One comparison `a cmp b` of a guest condition (cmp(), eq(), ne()). */
export interface GuestCompare {
  readonly a: GuestOperand;
  readonly cmp: GuestCmp;
  readonly b: GuestOperand;
}

/** True when any of its comparisons holds (C's `val == 1 || val == MMIO_VAL`). */
export interface GuestCond {
  readonly any: readonly GuestCompare[];
}

/** The guest's arithmetic: dst = dst <fn> src, unsigned 64-bit. */
export type GuestAlu = 'add' | 'sub' | 'and' | 'or' | 'xor' | 'shl' | 'shr';

/** Widths of `load` and `store`, in bytes. */
export type GuestWidth = 1 | 2 | 4 | 8;

/** One recorded guest operation; the model interprets it, the guest agent compiles it to x86-64. */
export type GuestOp =
  | { readonly op: 'write'; readonly gpa: bigint; readonly size: number; readonly pattern: number; readonly view: GuestView; readonly loc: SourceLoc }
  | { readonly op: 'check'; readonly gpa: bigint; readonly size: number; readonly pattern: number; readonly view: GuestView; readonly expr: string; readonly loc: SourceLoc }
  | { readonly op: 'read'; readonly gpa: bigint; readonly size: number; readonly view: GuestView; readonly loc: SourceLoc }
  | { readonly op: 'load'; readonly dst: GuestReg; readonly gpa: bigint; readonly width: GuestWidth; readonly view: GuestView; readonly loc: SourceLoc }
  | { readonly op: 'store'; readonly gpa: bigint; readonly width: GuestWidth; readonly value: GuestOperand; readonly view: GuestView; readonly loc: SourceLoc }
  | { readonly op: 'mov'; readonly dst: GuestReg; readonly src: GuestOperand; readonly loc: SourceLoc }
  | { readonly op: 'alu'; readonly fn: GuestAlu; readonly dst: GuestReg; readonly src: GuestOperand; readonly loc: SourceLoc }
  | { readonly op: 'hypercall'; readonly nr: bigint; readonly args: readonly bigint[]; readonly expect?: bigint; readonly dst?: GuestReg; readonly expr: string; readonly loc: SourceLoc }
  | { readonly op: 'ucall'; readonly cmd: number; readonly args: readonly GuestOperand[]; readonly text?: string; readonly loc: SourceLoc }
  | { readonly op: 'fail'; readonly expr: string; readonly message: string; readonly loc: SourceLoc }
  /**
   * GUEST_ASSERT(cond) decided at run time: when `cond` is false the guest
   * aborts with `message`, printf-formatted (formatGuestMessage) with `args`.
   */
  | { readonly op: 'assert'; readonly cond: GuestCond; readonly expr: string; readonly message: string; readonly args: readonly GuestOperand[]; readonly loc: SourceLoc }
  | { readonly op: 'loop'; readonly count: number | 'forever'; readonly body: readonly GuestOp[]; readonly loc: SourceLoc }
  | { readonly op: 'if'; readonly cond: GuestCond; readonly then: readonly GuestOp[]; readonly else: readonly GuestOp[]; readonly loc: SourceLoc }
  /** Runs `body` while `cond` holds, testing it before each pass. */
  | { readonly op: 'while'; readonly cond: GuestCond; readonly body: readonly GuestOp[]; readonly loc: SourceLoc }
  /**
   * A platform's own guest operation (TDX accept, SNP PVALIDATE or PSC, pKVM
   * MEM_SHARE, CCA RSI_IPA_STATE_SET, a generic `convert`). The platform
   * plugin defines `call` and `args`; `expect` asserts its status result,
   * `dst` receives it (a guest that tolerates some statuses tests it itself).
   */
  | { readonly op: 'platform'; readonly call: string; readonly args: Readonly<Record<string, bigint | number | string | boolean>>; readonly expect?: bigint; readonly dst?: GuestReg; readonly expr: string; readonly loc: SourceLoc }
  | { readonly op: 'halt'; readonly loc: SourceLoc };

/** Guest memory a backend may use for its own purposes (code, data, stack, page tables). */
export interface GuestArea {
  readonly gpa: bigint;
  readonly size: bigint;
}

/** A recorded guest program (recordGuestProgram()): its ops, and where the backend put it. */
export interface GuestProgram {
  readonly ops: readonly GuestOp[];
  /**
   * GPA of the `struct ucall` kvm_util reserved for this vCPU in slot 0
   * (shared memory at GPA 0, present in every VM made by vmCreate()). A
   * backend writes each ucall there and passes it in RDI; when absent the
   * backend picks a place itself. The host reads the struct back through
   * RDI either way (get_ucall()), so the choice is the backend's.
   */
  readonly ucallGpa?: bigint;
  /**
   * Shared guest memory (in slot 0) that kvm_util set aside for this vCPU's
   * program: the `kvm` backend puts the agent's page tables, GDT, stack,
   * code and message templates there, as kvm_util.c loads the test ELF and
   * builds page tables in slot 0. The model needs no memory for code; it
   * only notices when the memslot under the area is gone (an instruction
   * fetch from nowhere).
   */
  readonly area?: GuestArea;
}

/** Whether `op` or anything nested in it satisfies `pred`. */
export function someGuestOp(ops: readonly GuestOp[], pred: (op: GuestOp) => boolean): boolean {
  for (const op of ops) {
    if (pred(op)) return true;
    for (const body of nestedBodies(op)) if (someGuestOp(body, pred)) return true;
  }
  return false;
}

/** The op lists nested in a control-flow op. */
export function nestedBodies(op: GuestOp): readonly (readonly GuestOp[])[] {
  switch (op.op) {
    case 'loop':
    case 'while':
      return [op.body];
    case 'if':
      return [op.then, op.else];
    default:
      return [];
  }
}

export const isGuestReg = (v: GuestOperand): v is GuestReg => typeof v === 'object';

const U64 = (1n << 64n) - 1n;

/** A comparison of two unsigned 64-bit values. */
export function guestCompare(a: bigint, cmp: GuestCmp, b: bigint): boolean {
  const x = a & U64;
  const y = b & U64;
  switch (cmp) {
    case 'eq': return x === y;
    case 'ne': return x !== y;
    case 'ltu': return x < y;
    case 'leu': return x <= y;
    case 'gtu': return x > y;
    case 'geu': return x >= y;
  }
}

/** An ALU step on unsigned 64-bit values; shifts take the count mod 64, as x86 does. */
export function guestAlu(fn: GuestAlu, a: bigint, b: bigint): bigint {
  const x = a & U64;
  const y = b & U64;
  switch (fn) {
    case 'add': return (x + y) & U64;
    case 'sub': return (x - y) & U64;
    case 'and': return x & y;
    case 'or': return x | y;
    case 'xor': return x ^ y;
    case 'shl': return (x << (y & 63n)) & U64;
    case 'shr': return x >> (y & 63n);
  }
}

/**
 * The conversions guest messages may use, with what they print for a u64:
 * `%lx`/`%x` hex, `%#lx`/`%#x` hex with 0x (plain 0 for zero, as glibc),
 * `%lu`/`%u`/`%ld`/`%d` decimal (unsigned: the guest has no signed values),
 * `%%` a percent sign. Anything else is refused when the op is recorded.
 */
export const GUEST_FORMAT_RE = /%(#?)l?([xud%])/g;

/** Split a guest message into literal text and conversions; throws on an unsupported conversion. */
export function parseGuestFormat(fmt: string): (string | { readonly alt: boolean; readonly conv: 'x' | 'u' })[] {
  const parts: (string | { alt: boolean; conv: 'x' | 'u' })[] = [];
  let text = '';
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c !== '%') {
      text += c;
      continue;
    }
    const m = /^%(#?)(l?)([xud%])/.exec(fmt.slice(i));
    if (!m) throw new RangeError(`guest message: unsupported conversion at '${fmt.slice(i, i + 4)}' in '${fmt}' (use %lx, %#lx, %lu, %ld, %%)`);
    i += m[0].length - 1;
    if (m[3] === '%') {
      text += '%';
      continue;
    }
    if (text) parts.push(text);
    text = '';
    parts.push({ alt: m[1] === '#', conv: m[3] === 'x' ? 'x' : 'u' });
  }
  if (text) parts.push(text);
  return parts;
}

/** printf() of a guest message over u64 values, as the guest agent formats it. */
export function formatGuestMessage(fmt: string, values: readonly bigint[]): string {
  let i = 0;
  return parseGuestFormat(fmt).map((p) => {
    if (typeof p === 'string') return p;
    const v = (values[i++] ?? 0n) & U64;
    if (p.conv === 'u') return v.toString(10);
    return p.alt && v !== 0n ? `0x${v.toString(16)}` : v.toString(16);
  }).join('');
}

/** How many values a guest message consumes. */
export function guestFormatArity(fmt: string): number {
  return parseGuestFormat(fmt).filter((p) => typeof p !== 'string').length;
}

/** The detail of a failed `check`: expected byte, offset in the range, its GPA, the byte found. */
export const GUEST_CHECK_FORMAT = 'Guest expected 0x%lx at offset %lu (gpa 0x%lx), got 0x%lx';

/** The detail of a hypercall or platform status other than `expect`: `got != want (expr)`. */
export function expectMismatchFormat(expr: string): string {
  return `0x%lx != 0x%lx (${expr.replace(/%/g, '%%')})`;
}
