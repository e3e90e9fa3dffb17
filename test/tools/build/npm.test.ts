// tools/build/npm.mk: `npm ci` runs when node_modules is older than
// package-lock.json, never over a symlinked node_modules, and never on
// stdout: `make run_tests` after an install prints the TAP stream alone, and
// a failed install says why on stderr. npm itself is a stand-in from
// test/tools/fixtures/npm (make NPM=...), so nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseStreams, ROOT, tmpDir } from '../runner/helpers.js';

const FIXTURE_TESTS = join(ROOT, 'test/tools/fixtures/tests');
const NPM_OK = `NPM=sh ${join(ROOT, 'test/tools/fixtures/npm/npm_ok.sh')}`;
const NPM_FAIL = `NPM=sh ${join(ROOT, 'test/tools/fixtures/npm/npm_fail.sh')}`;

// As from a user's shell: under `make check` the environment says this is
// a sub-make (MAKELEVEL), which alone makes make print "Entering directory".
const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
for (const v of ['MAKELEVEL', 'MAKEFLAGS', 'MFLAGS', 'MAKEOVERRIDES']) delete env[v];

function make(args: readonly string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('make', args, { cwd, env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// What the kselftest runner writes, and nothing else: the version and plan
// lines of each collection's stream, diagnostics (test output is prefixed
// "# "), result lines and a bail-out.
const RUNNER_LINE = /^(TAP version 13|1\.\.\d+|#( .*)?|(not )?ok \d+ selftests: \S+: \S+( # .*)?|Bail out! .*)$/;

function notRunnerLines(stdout: string): string[] {
  return stdout.replace(/\n$/, '').split('\n').filter((l) => !RUNNER_LINE.test(l));
}

/**
 * A checkout whose node_modules stamp predates package-lock.json: its own
 * top Makefile (so KSFT_TOP and the stamp are here), the project's tools/,
 * and tsx (all the build needs from node_modules; the rest resolves from
 * the project through the links).
 */
function staleCheckout(): { top: string; stamp: string } {
  const top = tmpDir('ksft-npm-');
  copyFileSync(join(ROOT, 'Makefile'), join(top, 'Makefile'));
  symlinkSync(join(ROOT, 'tools'), join(top, 'tools'));
  writeFileSync(join(top, 'package-lock.json'), '{}\n');
  mkdirSync(join(top, 'node_modules'));
  symlinkSync(join(ROOT, 'node_modules/tsx'), join(top, 'node_modules/tsx'));
  const stamp = join(top, 'node_modules/.package-lock.json');
  writeFileSync(stamp, '{}\n');
  utimesSync(stamp, new Date(0), new Date(0));
  return { top, stamp };
}

t.test('make run_tests after npm ci: stdout is the TAP stream alone, install output held back', async (t) => {
  const { top, stamp } = staleCheckout();
  const args = ['run_tests', NPM_OK, `KSFT_TESTS=${FIXTURE_TESTS}`, `KSFT_BUILD=${join(top, 'build')}`, 'RUNNER_ARGS=-f'];
  const r = make(args, top);
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(join(top, 'npm-calls.log'), 'utf8'), 'ci\n', 'npm ci ran once, in the checkout');
  t.ok(statSync(stamp).mtimeMs > statSync(join(top, 'package-lock.json')).mtimeMs, 'the stamp is now up to date');

  t.equal(r.stdout.split('\n')[0], 'TAP version 13', 'the first line');
  t.same(notRunnerLines(r.stdout), [], 'every line is in the kselftest runner shape');
  const streams = await parseStreams(r.stdout);
  t.same(streams.map((s) => s.asserts.map((a) => `${a.ok ? 'ok' : 'not ok'} ${a.id} ${a.name}`)), [
    ['ok 1 selftests: demo: demo_pass', 'ok 2 selftests: demo: demo_skip', 'ok 3 selftests: demo: demo_script.sh'],
    ['not ok 1 selftests: nested/inner: inner_test # exit=1'],
  ]);

  t.match(r.stderr, `npm ci: node_modules is missing or older than package-lock.json; installing in ${top}\n`, 'why the pause, on stderr');
  t.notMatch(r.stdout + r.stderr, /added 287 packages|looking for funding|npm warn/, 'a successful install shows none of its output');
  t.notMatch(r.stderr, /Entering directory/);

  const again = make(args, top);
  t.equal(again.code, 0, again.stderr);
  t.equal(readFileSync(join(top, 'npm-calls.log'), 'utf8'), 'ci\n', 'up to date: no second install');
  t.notMatch(again.stderr, /npm ci/);
  t.equal(again.stdout, r.stdout);
});

t.test('a failed npm ci: its output and the failure on stderr, nothing on stdout, non-zero exit', async (t) => {
  const { top, stamp } = staleCheckout();
  const r = make(['run_tests', NPM_FAIL, `KSFT_TESTS=${FIXTURE_TESTS}`, `KSFT_BUILD=${join(top, 'build')}`], top);
  t.not(r.code, 0);
  t.equal(r.stdout, '', 'no line that is not TAP (and no stream: nothing ran)');
  t.match(r.stderr, 'npm http fetch GET https://registry.npmjs.org/esbuild attempt 3 failed with ENOTFOUND\n', "npm's stdout, moved to stderr");
  t.match(r.stderr, 'npm error code ENOTFOUND\n');
  t.match(r.stderr, `npm ci in ${top} failed (exit status 1)\n`);
  t.equal(statSync(stamp).mtimeMs, 0, 'the stamp stays old, so the next make tries again');
  t.notOk(existsSync(join(top, 'build')), 'nothing was built');
});

t.test('npm ci runs only when node_modules is older than package-lock.json', async (t) => {
  const lock = join(ROOT, 'package-lock.json');
  const vars = [`KSFT_TESTS=${FIXTURE_TESTS}`, `KSFT_BUILD=${tmpDir('ksft-npm-build-')}`];
  for (const target of ['all', 'run_tests', 'check']) {
    const fresh = make(['--no-print-directory', '-n', target, ...vars], ROOT);
    t.notMatch(fresh.stdout, /npm ci/, `${target}: installed tree is up to date`);
    // -W: make treats package-lock.json as just modified.
    const stale = make(['--no-print-directory', '-n', '-W', lock, target, ...vars], ROOT);
    t.match(stale.stdout, /npm ci/, `${target}: a newer lock file triggers npm ci`);
  }
  const sub = make(['--no-print-directory', '-n', '-W', lock, '-C', join(FIXTURE_TESTS, 'demo'), 'run_tests', ...vars], ROOT);
  t.match(sub.stdout, /npm ci/, 'make -C <collection> run_tests too');
});

t.test('npm ci never runs over a symlinked node_modules', async (t) => {
  const top = tmpDir('ksft-npm-');
  const shared = tmpDir('ksft-npm-shared-');
  writeFileSync(join(shared, '.package-lock.json'), '{}\n');
  writeFileSync(join(shared, 'keep-me'), 'x\n');
  mkdirSync(join(top, 'tools/build'), { recursive: true });
  for (const f of ['Makefile', 'tools/build/npm.mk', 'tools/build/lib.mk']) writeFileSync(join(top, f), readFileSync(join(ROOT, f)));
  writeFileSync(join(top, 'package-lock.json'), '{}\n');
  symlinkSync(shared, join(top, 'node_modules'));
  utimesSync(join(shared, '.package-lock.json'), new Date(0), new Date(0));
  const r = make([join(top, 'node_modules/.package-lock.json'), NPM_OK], top);
  t.equal(r.code, 0);
  t.match(r.stderr, /node_modules is a symbolic link and older than package-lock\.json; not running npm ci/);
  t.equal(r.stdout, '');
  t.notOk(existsSync(join(top, 'npm-calls.log')), 'npm did not run');
  t.ok(existsSync(join(shared, 'keep-me')), 'the link target is untouched');
});
