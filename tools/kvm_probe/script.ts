/**
 * The probe's case-list format, parsed the same way tools/kvm_probe/kvm_probe.c
 * parses it, so one script runs on the real /dev/kvm (through the C probe)
 * and on any Backend (through model_runner.ts):
 *
 *   [name =] op arg...        # comment
 *
 * An argument is an integer (decimal or 0x hex; a leading '-' gives the
 * two's-complement u64) or an earlier result's name, optionally `name+N` or
 * `name-N`. Names take the call's ret (an fd for creating calls) or the
 * address for mmap/mmap_anon.
 */

/** Every op and how many arguments it takes (min, max). */
export const OPS = {
  open_kvm: [0, 0],
  check_ext: [2, 2],
  create_vm: [2, 2],
  create_vcpu: [2, 2],
  create_gmem: [3, 9],
  enable_cap: [3, 7],
  set_region: [6, 6],
  set_region2: [8, 8],
  set_attr: [5, 5],
  pre_fault: [4, 4],
  fstat: [1, 1],
  read: [2, 2],
  write: [2, 2],
  pread: [3, 3],
  pwrite: [3, 3],
  lseek: [3, 3],
  ftruncate: [2, 2],
  fallocate: [4, 4],
  mmap: [5, 5],
  mmap_anon: [1, 1],
  munmap: [2, 2],
  peek: [1, 1],
  poke: [2, 2],
  memfd: [0, 0],
  dup: [1, 1],
  close: [1, 1],
  ioctl: [3, 3],
} as const satisfies Record<string, readonly [number, number]>;

export type ProbeOp = keyof typeof OPS;

/** Ops whose successful ret is a new fd (compared as "fd", never by number). */
export const FD_OPS: ReadonlySet<ProbeOp> = new Set(['open_kvm', 'create_vm', 'create_vcpu', 'create_gmem', 'memfd', 'dup']);

/** Host-safety limits the C probe enforces too (exit 3). */
export const MAX_ALLOC_BYTES = 64n << 20n;
export const MAX_IO_BYTES = 1n << 20n;

export type Arg = { kind: 'int'; value: bigint } | { kind: 'ref'; name: string; delta: bigint };

export interface ProbeCall {
  /** 1-based line number in the script (the probe's "line"). */
  readonly line: number;
  /** The call as written, without the `name =` part and the comment. */
  readonly text: string;
  readonly target?: string;
  readonly op: ProbeOp;
  readonly args: readonly Arg[];
}

export class ScriptError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'ScriptError';
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const U64 = (1n << 64n) - 1n;

function parseInt64(s: string, whole: string, line: number): bigint {
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  if (!/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(body)) throw new ScriptError(line, `bad argument '${whole}'`);
  // strtoull base 0: a leading 0 means octal.
  const v = /^0[0-7]+$/.test(body) ? BigInt(`0o${body.slice(1)}`) : /^0[0-9]+$/.test(body) ? NaN : BigInt(body);
  if (typeof v !== 'bigint' || v > U64) throw new ScriptError(line, `bad argument '${whole}'`);
  return neg ? BigInt.asUintN(64, -v) : v;
}

function parseArg(tok: string, line: number, known: ReadonlySet<string>): Arg {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:([+-])(.+))?$/.exec(tok);
  if (!m) return { kind: 'int', value: parseInt64(tok, tok, line) };
  const name = m[1]!;
  if (!known.has(name)) throw new ScriptError(line, `unknown name '${name}'`);
  if (!m[2]) return { kind: 'ref', name, delta: 0n };
  const n = parseInt64(m[3]!, tok, line);
  return { kind: 'ref', name, delta: m[2] === '+' ? n : BigInt.asUintN(64, -n) };
}

/** Parse a whole script; throws ScriptError naming the first bad line. */
export function parseScript(text: string): ProbeCall[] {
  const calls: ProbeCall[] = [];
  const known = new Set<string>();
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.length > 1022) throw new ScriptError(line, 'line longer than 1022 characters');
    const code = raw.split('#', 1)[0]!;
    const toks = code.split(/[ \t\r]+/).filter((t) => t.length > 0);
    if (toks.length === 0) return;
    let target: string | undefined;
    let first = 0;
    if (toks.length >= 2 && toks[1] === '=') {
      if (!IDENT.test(toks[0]!)) throw new ScriptError(line, `bad name '${toks[0]}'`);
      if (toks[0]!.length >= 64) throw new ScriptError(line, `name too long '${toks[0]}'`);
      target = toks[0];
      first = 2;
    }
    const opName = toks[first];
    if (opName === undefined) throw new ScriptError(line, 'missing op');
    if (!Object.hasOwn(OPS, opName)) throw new ScriptError(line, `unknown op '${opName}'`);
    const op = opName as ProbeOp;
    const argToks = toks.slice(first + 1);
    const [min, max] = OPS[op];
    if (argToks.length > 12) throw new ScriptError(line, 'too many arguments');
    const args = argToks.map((t) => parseArg(t, line, known));
    if (args.length < min || args.length > max) {
      throw new ScriptError(line, min === max ? `${op} takes ${min} argument(s), got ${args.length}` : `${op} takes ${min}..${max} arguments, got ${args.length}`);
    }
    if (target) known.add(target);
    calls.push({ line, text: toks.slice(first).join(' '), target, op, args });
  });
  return calls;
}

/** Resolve an argument against the values bound so far (u64 arithmetic, as in C). */
export function argValue(a: Arg, names: ReadonlyMap<string, bigint>): bigint {
  if (a.kind === 'int') return a.value;
  const base = names.get(a.name);
  if (base === undefined) throw new Error(`unbound name '${a.name}'`);
  return BigInt.asUintN(64, base + a.delta);
}

/**
 * The probe's refusal rules (exit 3 there); undefined when the call may run.
 * `v` are the resolved u64 arguments; `fileSize` answers fstat's st_size for
 * an fd (undefined when fstat fails).
 */
export function safetyRefusal(op: ProbeOp, v: readonly bigint[], fileSize: (fd: number) => bigint | undefined): string | undefined {
  if ((op === 'read' || op === 'write' || op === 'pread' || op === 'pwrite') && v[1]! > MAX_IO_BYTES) {
    return `${op} of ${v[1]} bytes refused (limit ${MAX_IO_BYTES})`;
  }
  // Never run a guest; never hand the kernel a pointer it could write through.
  if (op === 'ioctl') {
    if (v[1]! > 0xffffffffn || ((v[1]! >> 30n) & 3n) !== 0n) return `ioctl 0x${v[1]!.toString(16)} refused: only _IO requests`;
    if (v[1] === 0xae80n) return 'ioctl KVM_RUN refused: the probe never runs a guest';
  }
  // An allocation inside i_size really takes memory; a punch never does.
  if (op === 'fallocate' && !(v[1]! & 0x02n) && v[3]! > MAX_ALLOC_BYTES) {
    const size = fileSize(Number(BigInt.asIntN(32, v[0]!)));
    const end = v[2]! + v[3]!;
    if (size !== undefined && BigInt.asIntN(64, v[2]!) >= 0n && end <= (1n << 64n) - 1n && end <= size) {
      return `fallocate allocation of ${v[3]} bytes refused (limit ${MAX_ALLOC_BYTES})`;
    }
  }
  return undefined;
}
