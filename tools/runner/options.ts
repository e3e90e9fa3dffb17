// Command-line options of run_kselftest.sh (tools/testing/selftests/run_kselftest.sh):
// the 6.12 set plus the later -S/--skip and -f/--no-error-on-fail, and two
// long-only options that point the runner at a tree laid out differently from
// an install directory (the build tree keeps the list apart from the tests).
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const RunnerOptionsSchema = Type.Object({
  summary: Type.Boolean(),
  perTestLog: Type.Boolean(),
  tests: Type.Array(Type.String({ minLength: 1 })),
  collections: Type.Array(Type.String({ minLength: 1 })),
  skip: Type.Array(Type.String({ minLength: 1 })),
  list: Type.Boolean(),
  dryRun: Type.Boolean(),
  netns: Type.Boolean(),
  overrideTimeout: Type.Optional(Type.Integer({ minimum: 0 })),
  noErrorOnFail: Type.Boolean(),
  help: Type.Boolean(),
  baseDir: Type.Optional(Type.String({ minLength: 1 })),
  listFile: Type.Optional(Type.String({ minLength: 1 })),
  ktap: Type.Boolean(),
  /** -p DIR (the later runner): where the per-test logs go instead of /tmp. */
  perTestLogDir: Type.Optional(Type.String({ minLength: 1 })),
  jobs: Type.Integer({ minimum: 1, maximum: 1024 }),
  output: Type.Optional(Type.String({ minLength: 1 })),
  json: Type.Optional(Type.String({ minLength: 1 })),
  junit: Type.Optional(Type.String({ minLength: 1 })),
  shard: Type.Optional(Type.String({ pattern: '^[1-9][0-9]*/[1-9][0-9]*$' })),
  retries: Type.Integer({ minimum: 0, maximum: 100 }),
  format: Type.Union([Type.Literal('tap13'), Type.Literal('ktap'), Type.Literal('tap14')]),
  matrix: Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*=[^,]+(,[^,]+)*$' })),
  progress: Type.Union([Type.Literal('auto'), Type.Literal('always'), Type.Literal('never')]),
  merge: Type.Array(Type.String({ minLength: 1 })),
}, { additionalProperties: false });

export type RunnerOptions = Static<typeof RunnerOptionsSchema>;

type Key = keyof RunnerOptions;

interface OptionSpec {
  short?: string;
  long: string;
  key: Key;
  value: boolean;
  /** What a valid value looks like, for the one-line error. */
  expect?: string;
  /** The value is optional: taken only when the next argument does not start with '-' (the later runner's -p [DIR]). */
  optionalValue?: boolean;
  /** Parsed as a whole number. */
  integer?: boolean;
}

export const OPTION_SPECS: readonly OptionSpec[] = [
  { short: '-s', long: '--summary', key: 'summary', value: false },
  { short: '-p', long: '--per-test-log', key: 'perTestLogDir', value: true, optionalValue: true, expect: 'a directory' },
  { short: '-t', long: '--test', key: 'tests', value: true, expect: 'COLLECTION:TEST' },
  { short: '-c', long: '--collection', key: 'collections', value: true, expect: 'a collection name' },
  { short: '-S', long: '--skip', key: 'skip', value: true, expect: 'COLLECTION:TEST' },
  { short: '-l', long: '--list', key: 'list', value: false },
  { short: '-d', long: '--dry-run', key: 'dryRun', value: false },
  { short: '-n', long: '--netns', key: 'netns', value: false },
  { short: '-o', long: '--override-timeout', key: 'overrideTimeout', value: true, expect: 'a whole number of seconds >= 0' },
  { short: '-f', long: '--no-error-on-fail', key: 'noErrorOnFail', value: false },
  { short: '-h', long: '--help', key: 'help', value: false },
  { long: '--base-dir', key: 'baseDir', value: true, expect: 'a directory' },
  { long: '--list-file', key: 'listFile', value: true, expect: 'a file path' },
  { long: '--ktap', key: 'ktap', value: false },
  { short: '-j', long: '--jobs', key: 'jobs', value: true, integer: true, expect: 'a whole number of parallel tests from 1 to 1024' },
  { long: '--output', key: 'output', value: true, expect: 'a directory' },
  { long: '--json', key: 'json', value: true, expect: 'a file path' },
  { long: '--junit', key: 'junit', value: true, expect: 'a file path' },
  { long: '--shard', key: 'shard', value: true, expect: 'I/N with 1 <= I <= N' },
  { long: '--retries', key: 'retries', value: true, integer: true, expect: 'a whole number of retries from 0 to 100' },
  { long: '--format', key: 'format', value: true, expect: 'tap13, ktap or tap14' },
  { short: '-m', long: '--matrix', key: 'matrix', value: true, expect: 'VARIABLE=VALUE[,VALUE...]' },
  { long: '--progress', key: 'progress', value: true, expect: 'auto, always or never' },
  { long: '--merge', key: 'merge', value: true, expect: 'a --json report of one shard' },
];

/** An option the runner does not know: the caller prints usage and exits 1. */
export class UsageError extends Error {}
/** A known option with a bad or missing value: one line, exit 1. */
export class OptionValueError extends Error {}

function defaults(): RunnerOptions {
  return {
    summary: false, perTestLog: false, tests: [], collections: [], skip: [],
    list: false, dryRun: false, netns: false, noErrorOnFail: false, help: false, ktap: false,
    jobs: 1, retries: 0, format: 'tap13', matrix: [], progress: 'auto', merge: [],
  };
}

function findSpec(arg: string): OptionSpec | undefined {
  return OPTION_SPECS.find((s) => s.short === arg || s.long === arg);
}

function optionName(spec: OptionSpec): string {
  return spec.short ? `${spec.short}/${spec.long}` : spec.long;
}

export function parseOptions(argv: readonly string[]): RunnerOptions {
  const raw: Record<string, unknown> = defaults();
  const given = new Map<Key, { spec: OptionSpec; value: string }>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let name = arg;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      name = arg.slice(0, eq);
      inline = arg.slice(eq + 1);
    }
    const spec = findSpec(name);
    if (!spec) throw new UsageError(`unknown option '${arg}'`);
    if (!spec.value) {
      if (inline !== undefined) throw new OptionValueError(`option ${optionName(spec)} takes no value, got '${inline}'`);
      raw[spec.key] = true;
      continue;
    }
    if (spec.optionalValue && inline === undefined) {
      // -p [DIR]: the later runner takes the next word when it is not an option.
      const next = argv[i + 1];
      raw.perTestLog = true;
      if (next === undefined || next === '' || next.startsWith('-')) continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new OptionValueError(`option ${optionName(spec)} needs a value (${spec.expect})`);
    given.set(spec.key, { spec, value });
    if (spec.optionalValue) raw.perTestLog = true;
    const cur = raw[spec.key];
    if (Array.isArray(cur)) cur.push(value);
    else if (spec.key === 'overrideTimeout' || spec.integer) raw[spec.key] = /^[0-9]+$/.test(value) ? Number(value) : value;
    else raw[spec.key] = value;
  }
  const shard = typeof raw.shard === 'string' ? raw.shard.split('/').map(Number) : undefined;
  if (shard && shard[0]! > shard[1]!) throw new OptionValueError(`invalid value '${String(raw.shard)}' for option --shard: expected I/N with 1 <= I <= N`);
  const err = Value.Errors(RunnerOptionsSchema, raw).First();
  if (err) {
    const key = err.path.split('/')[1] as Key;
    const g = given.get(key);
    const spec = g?.spec ?? OPTION_SPECS.find((s) => s.key === key);
    const shown = g ? `'${g.value}'` : JSON.stringify(err.value);
    throw new OptionValueError(`invalid value ${shown} for option ${spec ? optionName(spec) : key}: expected ${spec?.expect ?? err.message}`);
  }
  return raw as RunnerOptions;
}
