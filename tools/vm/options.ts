// Options of the VM runner (tools/vm/run.ts): the command line, with defaults
// from the environment so that make variables (KERNEL=, KSFT_VM_TIMEOUT=...)
// reach it without every Makefile rule spelling them out. The command line
// wins over the environment.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const AccelSchema = Type.Union([Type.Literal('auto'), Type.Literal('kvm'), Type.Literal('tcg')]);
export type Accel = Static<typeof AccelSchema>;

export const VmOptionsSchema = Type.Object({
  /** bzImage to boot. */
  kernel: Type.String({ minLength: 1 }),
  /** QEMU binary: a name looked up in PATH, or a path. */
  qemu: Type.String({ minLength: 1 }),
  accel: AccelSchema,
  /** QEMU -m: MiB, or with an M/G suffix. */
  memory: Type.String({ pattern: '^[1-9][0-9]*[MG]?$' }),
  smp: Type.Integer({ minimum: 1, maximum: 8 }),
  /** Seconds from starting QEMU to its exit; then it is killed. */
  timeout: Type.Integer({ minimum: 1 }),
  /** Guest TSC frequency for tsc_early_khz=; default: the host's. */
  tscKhz: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Kernel console: a file to keep it in, or '-' for stderr. */
  console: Type.Optional(Type.String({ minLength: 1 })),
  /** A host directory the job sees, writable, as $KSFT_VM_RESULTS. */
  results: Type.Optional(Type.String({ minLength: 1 })),
  /** Extra kernel command-line words. */
  append: Type.Array(Type.String({ minLength: 1 })),
  /** Directory the job runs in, with a throw-away writable overlay. */
  dir: Type.String({ minLength: 1 }),
  /** NAME=VALUE for the job, over the passed-through host environment. */
  env: Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*=' })),
  /** Keep the run's scratch directory (job script, status, console log). */
  keep: Type.Boolean(),
  /** The job: a shell command line (-c), or argv after `--`. */
  shell: Type.Optional(Type.String({ minLength: 1 })),
  argv: Type.Array(Type.String()),
  help: Type.Boolean(),
}, { additionalProperties: false });

export type VmOptions = Static<typeof VmOptionsSchema>;
type Key = keyof VmOptions;

interface Spec {
  long: string;
  short?: string;
  key: Key;
  /** Environment variable giving the default. */
  env?: string;
  kind: 'string' | 'int' | 'list' | 'flag';
  expect: string;
}

export const VM_OPTION_SPECS: readonly Spec[] = [
  { long: '--kernel', short: '-k', key: 'kernel', env: 'KERNEL', kind: 'string', expect: 'a bzImage file' },
  { long: '--qemu', key: 'qemu', env: 'KSFT_VM_QEMU', kind: 'string', expect: 'a QEMU binary' },
  { long: '--accel', key: 'accel', env: 'KSFT_VM_ACCEL', kind: 'string', expect: 'auto, kvm or tcg' },
  { long: '--memory', short: '-m', key: 'memory', env: 'KSFT_VM_MEMORY', kind: 'string', expect: 'MiB, or a size like 4G or 512M' },
  { long: '--smp', key: 'smp', env: 'KSFT_VM_SMP', kind: 'int', expect: 'a number of CPUs from 1 to 8' },
  { long: '--timeout', short: '-t', key: 'timeout', env: 'KSFT_VM_TIMEOUT', kind: 'int', expect: 'a whole number of seconds >= 1' },
  { long: '--tsc-khz', key: 'tscKhz', env: 'KSFT_VM_TSC_KHZ', kind: 'int', expect: 'a frequency in kHz' },
  { long: '--console', key: 'console', env: 'KSFT_VM_CONSOLE', kind: 'string', expect: "a file, or '-' for stderr" },
  { long: '--results', key: 'results', env: 'KSFT_VM_RESULTS', kind: 'string', expect: 'a directory' },
  { long: '--append', key: 'append', env: 'KSFT_VM_APPEND', kind: 'list', expect: 'kernel command-line words' },
  { long: '--dir', short: '-C', key: 'dir', kind: 'string', expect: 'a directory' },
  { long: '--env', short: '-e', key: 'env', kind: 'list', expect: 'NAME=VALUE' },
  { long: '--keep', key: 'keep', env: 'KSFT_VM_KEEP', kind: 'flag', expect: '' },
  { long: '--help', short: '-h', key: 'help', kind: 'flag', expect: '' },
  { long: '-c', key: 'shell', kind: 'string', expect: 'a shell command line' },
];

export const USAGE = 'usage: run.ts [--kernel BZIMAGE] [--accel auto|kvm|tcg] [--memory 4G] [--smp N] [--timeout S] ' +
  '[--tsc-khz K] [--console FILE|-] [--results DIR] [--append WORDS] [--dir DIR] [--env NAME=VALUE]... [--keep] ' +
  "(-c 'COMMAND LINE' | -- COMMAND [ARG]...)";

/** Bad input: one line on stderr, exit 1 (the project's rule for runner options). */
export class VmInputError extends Error {}

export const DEFAULT_TIMEOUT_S = 1800;

function defaults(dir: string): Record<string, unknown> {
  return {
    kernel: '', qemu: 'qemu-system-x86_64', accel: 'auto', memory: '4G', smp: 1,
    timeout: DEFAULT_TIMEOUT_S, append: [], dir, env: [], keep: false, argv: [], help: false,
  };
}

function name(s: Spec): string {
  return s.short ? `${s.short}/${s.long}` : s.long;
}

function setValue(raw: Record<string, unknown>, s: Spec, value: string): void {
  if (s.kind === 'int') raw[s.key] = /^[0-9]+$/.test(value) ? Number(value) : value;
  else if (s.kind === 'list') {
    // The environment's KSFT_VM_APPEND is a word list; --env values are one each.
    const words = s.key === 'append' ? value.split(/\s+/).filter((w) => w !== '') : [value];
    (raw[s.key] as string[]).push(...words);
  } else raw[s.key] = value;
}

/**
 * `argv` is the runner's arguments, `env` the environment the defaults come
 * from, `dir` the default job directory (the project root).
 */
export function parseVmOptions(argv: readonly string[], env: NodeJS.ProcessEnv, dir: string): VmOptions {
  const raw = defaults(dir);
  const origin = new Map<Key, string>();
  for (const s of VM_OPTION_SPECS) {
    const v = s.env ? env[s.env] : undefined;
    if (v === undefined || v === '') continue;
    if (s.kind === 'flag') raw[s.key] = v !== '0';
    else setValue(raw, s, v);
    origin.set(s.key, `${s.env}=${v}`);
  }
  // The command line replaces a list from the environment rather than adding to it.
  const fromCli = new Set<Key>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      raw.argv = argv.slice(i + 1);
      break;
    }
    let opt = arg;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      opt = arg.slice(0, eq);
      inline = arg.slice(eq + 1);
    }
    const s = VM_OPTION_SPECS.find((x) => x.long === opt || x.short === opt);
    if (!s) throw new VmInputError(`unknown argument '${arg}' (${USAGE})`);
    if (s.kind === 'flag') {
      if (inline !== undefined) throw new VmInputError(`option ${name(s)} takes no value, got '${inline}'`);
      raw[s.key] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new VmInputError(`option ${name(s)} needs a value (${s.expect})`);
    if (s.kind === 'list' && !fromCli.has(s.key)) raw[s.key] = [];
    fromCli.add(s.key);
    setValue(raw, s, value);
    origin.set(s.key, `'${value}'`);
  }
  if (raw.help === true) return raw as VmOptions;
  const err = Value.Errors(VmOptionsSchema, raw).First();
  if (err) {
    const key = err.path.split('/')[1] as Key;
    const s = VM_OPTION_SPECS.find((x) => x.key === key);
    const given = origin.get(key) ?? JSON.stringify(err.value);
    if (key === 'kernel') throw new VmInputError('no kernel: pass --kernel BZIMAGE or KERNEL=path/to/bzImage');
    throw new VmInputError(`invalid value ${given} for option ${s ? name(s) : key}: expected ${s?.expect ?? err.message}`);
  }
  const o = raw as VmOptions;
  if (o.shell === undefined && o.argv.length === 0) {
    throw new VmInputError(`no job: give -c 'COMMAND LINE' or -- COMMAND [ARG]... (${USAGE})`);
  }
  if (o.shell !== undefined && o.argv.length > 0) {
    throw new VmInputError('give the job either as -c or after --, not both');
  }
  return o;
}
