/** The harness command line: -l, -h, bad options, and the -t/-T/-v/-V/-f/-F/-r filters. */
import t from 'tap';
import { bundle, runProgram, tempDir } from '../kselftest/support.js';

const { dir, remove } = tempDir('ksft-harness-cli-');
t.teardown(remove);
const program = await bundle('test/lib/harness/programs/catalogue.ts', dir);

const pad = (s: string, n: number) => s.padEnd(n, ' ');
const row = (f: string, v: string, test: string) => `${pad(f, 20)} ${pad(v, 25)} ${test}\n`;
const rule = '-'.repeat(80) + '\n';

t.test('-l lists fixtures, variants and tests on stderr and exits 4', async (t) => {
  const r = runProgram(program, ['-l']);
  t.equal(r.status, 4);
  t.equal(r.stdout, '');
  t.equal(
    r.stderr,
    row('# FIXTURE', 'VARIANT', 'TEST') +
      row('global', '', 'alpha') +
      row('', '', 'beta') +
      rule +
      row('mem', 'small', 'alloc') +
      row('', 'large', 'free') +
      row('', 'huge', '') +
      rule +
      row('io', '', 'alpha') +
      rule +
      row('empty', '', '') +
      rule +
      // Without tests the test cursor stays at the list head: C repeats the name.
      row('variants_only', 'a', '') +
      row('variants_only', 'b', ''),
  );
});

t.test('-h prints the usage and exits 4; a bad option prints it and exits 1', async (t) => {
  const h = runProgram(program, ['-h']);
  t.equal(h.status, 4);
  t.match(h.stderr, /^Usage: \S+catalogue\.mjs \[-h\|-l\] \[-t\|-T\|-v\|-V\|-f\|-F\|-r name\]\n\t-h       print help\n/);
  t.match(h.stderr, /but not test 'foo' specify '-T foo -v bla'\.\n$/);
  const bad = runProgram(program, ['-x']);
  t.equal(bad.status, 1);
  t.equal(bad.stdout, '');
  t.match(bad.stderr, /^\S+catalogue\.mjs: invalid option -- 'x'\nUsage: /);
  const missing = runProgram(program, ['-t']);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /^\S+catalogue\.mjs: option requires an argument -- 't'\n/);
});

const all = [
  'global.alpha',
  'global.beta',
  'mem.small.alloc',
  'mem.small.free',
  'mem.large.alloc',
  'mem.large.free',
  'mem.huge.alloc',
  'mem.huge.free',
  'io.alpha',
];

const cases: [string[], string[], number][] = [
  [[], all, 5],
  [['-t', 'alpha'], ['global.alpha', 'io.alpha'], 2],
  [['-talpha'], ['global.alpha', 'io.alpha'], 2],
  [['-T', 'alpha'], ['global.beta', 'mem.small.alloc', 'mem.small.free', 'mem.large.alloc', 'mem.large.free', 'mem.huge.alloc', 'mem.huge.free'], 4],
  [['-f', 'mem', '-V', 'large'], all.filter((n) => n.startsWith('mem.')), 3],
  [['-V', 'large', '-f', 'mem'], ['mem.small.alloc', 'mem.small.free', 'mem.huge.alloc', 'mem.huge.free'], 2],
  [['-v', 'huge'], ['mem.huge.alloc', 'mem.huge.free'], 1],
  [['-r', 'mem.large.free'], ['mem.large.free'], 1],
  [['-r', 'global.beta', '-t', 'alpha'], ['global.alpha', 'global.beta', 'io.alpha'], 2],
  [['-F', 'global', '-F', 'mem'], ['io.alpha'], 1],
  [['-T', 'alpha', '-t', 'alpha'], [], 0],
  [['operand', '--', '-t', 'alpha'], all, 5],
];

for (const [args, names, testCases] of cases) {
  t.test(`filters ${JSON.stringify(args)}`, async (t) => {
    const r = runProgram(program, args);
    t.equal(r.status, 0);
    t.match(r.stdout, `\n1..${names.length}\n# Starting ${names.length} tests from ${testCases} test cases.\n`);
    const ran = [...r.stdout.matchAll(/^ok \d+ (\S+)$/gm)].map((m) => m[1]);
    t.same(ran, names);
    t.match(r.stdout, `# PASSED: ${names.length} / ${names.length} tests passed.\n`);
  });
}
