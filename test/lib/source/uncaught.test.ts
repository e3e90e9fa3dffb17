// An uncaught exception or unhandled rejection in a built test (plain node,
// map beside the bundle, as the build writes them) names the .ts line; a
// process with a listener of its own (the harness's TEST processes) keeps
// its own report.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import t from 'tap';

const dir = mkdtempSync(join(tmpdir(), 'ksft-uncaught-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const kselftest = fileURLToPath(new URL('../../../lib/kselftest/index.ts', import.meta.url));
const src = join(dir, 'throws_test.ts');
writeFileSync(src, [
  `import { ksftPrintHeader } from ${JSON.stringify(kselftest)};`,
  'ksftPrintHeader();',
  "if (process.argv[2] === 'listener') process.on('uncaughtException', () => { process.stdout.write('own report\\n'); process.exit(3); });",
  "if (process.argv[2] === 'reject') void Promise.reject(new Error('rejected here'));",
  "else throw new Error('thrown here');",
  '',
].join('\n'));
const out = join(dir, 'throws_test.mjs');
await build({ entryPoints: [src], bundle: true, platform: 'node', format: 'esm', sourcemap: 'linked', outfile: out, logLevel: 'error' });
// Through env(1) with a plain environment: tap adds its module hooks and
// coverage to node children it sees start, and with them Node maps stacks
// itself.
const run = (arg: string) => spawnSync('env', ['-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, out, arg], { encoding: 'utf8' });

t.test('thrown: the .ts line, exit 1 as Node', async (t) => {
  const r = run('throw');
  t.equal(r.status, 1);
  t.equal(r.stdout, 'TAP version 13\n');
  t.match(r.stderr, /Error: thrown here\n\s+at .*throws_test\.ts:5:\d+/);
  t.notMatch(r.stderr, /throws_test\.mjs:\d+:\d+/, 'no bundle position');
  t.match(r.stderr, /\n\nNode\.js v\d+/);
});

t.test('rejected: the same', async (t) => {
  const r = run('reject');
  t.equal(r.status, 1);
  t.match(r.stderr, /Error: rejected here\n\s+at .*throws_test\.ts:4:\d+/);
});

t.test('another listener reports instead', async (t) => {
  const r = run('listener');
  t.equal(r.status, 3);
  t.equal(r.stdout, 'TAP version 13\nown report\n');
  t.equal(r.stderr, '');
});
