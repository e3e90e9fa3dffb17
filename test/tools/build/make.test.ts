// The make targets over the fixture collections: run_tests (top level and
// per collection), exit policy, TARGETS/SKIP_TARGETS, summary=1, install and
// the installed runner, emit_tests, gen_tar, clean. When npm ci runs and
// where its output goes: npm.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { parseStreams, ROOT, tmpDir } from '../runner/helpers.js';

const FIXTURE_TESTS = join(ROOT, 'test/tools/fixtures/tests');
const tmp = (): string => tmpDir('ksft-make-');
const build = tmp();
const vars = [`KSFT_TESTS=${FIXTURE_TESTS}`, `KSFT_BUILD=${build}`];
// The runner must not see tap's module hooks from the environment of this test.
const env = { ...process.env, NODE_OPTIONS: '', MAKEFLAGS: '' };

function make(args: readonly string[], cwd = ROOT): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('make', ['--no-print-directory', ...args], { cwd, env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('make run_tests: one TAP stream per collection, non-zero on a failed test', async (t) => {
  const r = make(['run_tests', ...vars]);
  t.not(r.code, 0, 'nested/inner fails, so the runner exits 1 and make fails');
  const streams = await parseStreams(r.stdout);
  t.same(streams.map((s) => s.asserts.map((a) => `${a.ok ? 'ok' : 'not ok'} ${a.id} ${a.name}`)), [
    ['ok 1 selftests: demo: demo_pass', 'ok 2 selftests: demo: demo_skip', 'ok 3 selftests: demo: demo_script.sh'],
    ['not ok 1 selftests: nested/inner: inner_test # exit=1'],
  ]);
  t.notMatch(r.stdout, /make\[\d+\]|Entering directory/, 'no make chatter in the TAP');
  t.match(r.stdout, /^# timeout set to 7$/m, 'the collection settings file is used');

  const f = make(['run_tests', ...vars, 'RUNNER_ARGS=-f']);
  t.equal(f.code, 0, 'RUNNER_ARGS=-f: the 6.12 exit status');
  t.equal(f.stdout, r.stdout);

  const skip = make(['run_tests', ...vars, 'SKIP_TARGETS=nested/inner']);
  t.equal(skip.code, 0);
  t.equal((await parseStreams(skip.stdout)).length, 1);
  const only = make(['run_tests', ...vars, 'TARGETS=nested/inner']);
  t.same((await parseStreams(only.stdout)).map((s) => s.asserts.length), [1]);
});

t.test('a TARGETS word that names no collection: one error line, exit 2, nothing built or run', async (t) => {
  const out = tmp();
  for (const goal of ['run_tests', 'all', 'install', 'emit_tests']) {
    const r = make([goal, `KSFT_TESTS=${FIXTURE_TESTS}`, `KSFT_BUILD=${out}`, 'TARGETS=demo nope']);
    t.equal(r.code, 2, `${goal}: make's error status`);
    t.equal(r.stdout, '', `${goal}: nothing on stdout`);
    t.match(r.stderr, /^Makefile:\d+: \*\*\* TARGETS: no collection 'nope' under .*fixtures\/tests \(collections: demo nested\/inner\)\.  Stop\.\n$/, `${goal}: one line naming the word`);
  }
  t.notOk(existsSync(join(out, 'tests')), 'nothing was built');
  const skipped = make(['emit_tests', `KSFT_TESTS=${FIXTURE_TESTS}`, `KSFT_BUILD=${out}`, 'TARGETS=demo nope', 'SKIP_TARGETS=nope']);
  t.equal(skipped.code, 0, 'a word SKIP_TARGETS removes is not checked');
});

t.test('make -C <collection> run_tests, summary=1', async (t) => {
  const r = make(['-C', join(FIXTURE_TESTS, 'demo'), 'run_tests', ...vars, 'summary=1']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, [
    'TAP version 13', '1..3',
    '# selftests: demo: demo_pass', 'ok 1 selftests: demo: demo_pass',
    '# selftests: demo: demo_skip', 'ok 2 selftests: demo: demo_skip # SKIP',
    '# selftests: demo: demo_script.sh', 'ok 3 selftests: demo: demo_script.sh', '',
  ].join('\n'));
  t.equal(readFileSync('/tmp/demo_script.sh', 'utf8'), '# timeout set to 7\n# script in demo\n', 'per-test log in /tmp');
  const i = make(['-C', join(FIXTURE_TESTS, 'nested/inner'), 'run_tests', ...vars]);
  t.match(i.stdout, /^# selftests: nested\/inner: inner_test$/m, 'DIR is the path below tests/');
});

t.test('make emit_tests', async (t) => {
  const r = make(['emit_tests', ...vars]);
  t.equal(r.stdout, 'demo:demo_pass\ndemo:demo_skip\ndemo:demo_script.sh\nnested/inner:inner_test\n');
});

t.test('make install: flattened tree that runs from the install directory alone', async (t) => {
  const dest = join(tmp(), 'install');
  const r = make(['install', ...vars, `INSTALL_PATH=${dest}`]);
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(join(dest, 'kselftest-list.txt'), 'utf8'), 'demo:demo_pass\ndemo:demo_skip\ndemo:demo_script.sh\nnested/inner:inner_test\n');
  for (const f of ['run_kselftest.sh', 'kselftest/runner.cjs', 'demo/demo_pass', 'demo/demo_pass.mjs', 'demo/demo_helper',
    'demo/demo_script.sh', 'demo/demo_data.txt', 'demo/settings', 'nested/inner/inner_test',
    'node_modules/koffi/package.json', `node_modules/@koromix/koffi-linux-${process.arch}/package.json`]) {
    t.ok(existsSync(join(dest, f)), f);
  }
  t.equal(statSync(join(dest, 'run_kselftest.sh')).mode & 0o777, 0o755);
  const run = spawnSync(join(dest, 'run_kselftest.sh'), ['-c', 'demo'], { cwd: '/', env, encoding: 'utf8' });
  t.equal(run.status, 0, run.stderr);
  t.same((await parseStreams(run.stdout)).map((s) => s.asserts.map((a) => a.name)), [[
    'selftests: demo: demo_pass', 'selftests: demo: demo_skip', 'selftests: demo: demo_script.sh',
  ]]);
  const all = spawnSync(join(dest, 'run_kselftest.sh'), [], { env, encoding: 'utf8' });
  t.equal(all.status, 1, 'default exit policy: a test failed');
  const list = spawnSync(join(dest, 'run_kselftest.sh'), ['-l'], { env, encoding: 'utf8' });
  t.equal(list.stdout, readFileSync(join(dest, 'kselftest-list.txt'), 'utf8'));

  const noPath = make(['-C', join(FIXTURE_TESTS, 'demo'), 'install', ...vars, 'KSFT_BUILT=1']);
  t.not(noPath.code, 0);
  t.match(noPath.stderr, /Error: set INSTALL_PATH to use install/);
});

t.test('make gen_tar and clean', async (t) => {
  const dest = join(tmp(), 'install');
  const pkgs = join(tmp(), 'kselftest-packages');
  const r = make(['gen_tar', ...vars, `INSTALL_PATH=${dest}`, `KSFT_PACKAGES=${pkgs}`]);
  t.equal(r.code, 0, r.stderr);
  const tarball = join(pkgs, 'kselftest.tar.gz');
  const names = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n');
  t.ok(names.includes('./run_kselftest.sh') && names.includes('./kselftest-list.txt') && names.includes('./demo/demo_pass'));
  const c = make(['clean', ...vars, `KSFT_PACKAGES=${pkgs}`]);
  t.equal(c.code, 0, c.stderr);
  t.notOk(existsSync(build), 'build directory removed');
  t.notOk(existsSync(pkgs), 'packages removed');
});

t.test('a collection that does not build: the others still run, its tests are missing', async (t) => {
  const tests = tmp();
  const lib = join(ROOT, 'tools/build/lib.mk');
  const write = (p: string, text: string): void => {
    mkdirSync(dirname(join(tests, p)), { recursive: true });
    writeFileSync(join(tests, p), text);
  };
  write('good/Makefile', `TEST_GEN_PROGS := good_test\ninclude ${lib}\n`);
  write('good/good_test.ts', "console.log('fine');\n");
  write('bad/Makefile', `TEST_GEN_PROGS := bad_test\ninclude ${lib}\n`);
  write('bad/bad_test.ts', 'const = ;\n');
  const v = [`KSFT_TESTS=${tests}`, `KSFT_BUILD=${join(tests, '.build')}`];
  const r = make(['run_tests', ...v]);
  t.not(r.code, 0);
  t.match(r.stderr, /build: collection bad failed: typechecking failed:\n.*bad\/bad_test\.ts:1:7: error TS1134: /);
  const streams = await parseStreams(r.stdout);
  t.same(streams.map((s) => s.asserts.map((a) => `${a.ok} ${a.name}`)), [
    ['false selftests: bad: bad_test'],
    ['true selftests: good: good_test'],
  ]);
  t.match(r.stdout, /^# Warning: file bad_test is missing!$/m);
});

t.test('plain `make` builds (the default goal is all)', async (t) => {
  const out = tmp();
  const r = make([`KSFT_TESTS=${FIXTURE_TESTS}`, `KSFT_BUILD=${out}`]);
  t.equal(r.code, 0, r.stderr);
  t.ok(existsSync(join(out, 'kselftest-list.txt')));
  t.ok(existsSync(join(out, 'tests/demo/demo_pass')));
  const sub = tmp();
  const c = make(['-C', join(FIXTURE_TESTS, 'demo'), `KSFT_TESTS=${FIXTURE_TESTS}`, `KSFT_BUILD=${sub}`]);
  t.equal(c.code, 0, c.stderr);
  t.equal(readFileSync(join(sub, 'kselftest-list.txt'), 'utf8'), 'demo:demo_pass\ndemo:demo_skip\ndemo:demo_script.sh\n');
});

t.test('lib.mk outside the collections folder is a clear error', async (t) => {
  const stray = tmp();
  writeFileSync(join(stray, 'Makefile'), `TEST_GEN_PROGS := x\ninclude ${join(ROOT, 'tools/build/lib.mk')}\n`);
  const r = make(['-C', stray, 'emit_tests']);
  t.not(r.code, 0);
  t.match(r.stderr, `lib.mk: ${stray} is not a folder under ${join(ROOT, 'tests')}; set KSFT_TESTS`);
});
