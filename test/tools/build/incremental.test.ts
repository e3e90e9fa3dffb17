// `make all` with nothing changed does not build (tools/build/stamp.ts): what
// counts as a change (a source, an unlisted file, an output, the Makefile
// environment), and that a failed build is never taken as current. Runs on
// a copy of the demo fixture collection, which the test edits.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, tmpDir } from '../runner/helpers.js';

const tests = tmpDir('ksft-incr-tests-');
const build = tmpDir('ksft-incr-build-');
const demo = join(tests, 'demo');
cpSync(join(ROOT, 'test/tools/fixtures/tests/demo'), demo, { recursive: true });
// The copy is outside the project, so lib.mk is included by its absolute path;
// DEMO_FLAVOUR is a variable the lists read from the environment.
writeFileSync(join(demo, 'Makefile'), [
  'TEST_GEN_PROGS := demo_pass demo_skip $(DEMO_FLAVOUR)',
  'TEST_GEN_PROGS_EXTENDED := demo_helper',
  'TEST_PROGS := demo_script.sh',
  'TEST_FILES := demo_data.txt',
  `include ${ROOT}/tools/build/lib.mk`, '',
].join('\n'));

const env = { ...process.env, NODE_OPTIONS: '', MAKEFLAGS: '', KSFT_BUILD_WHY: '1' };
delete (env as Record<string, string | undefined>).DEMO_FLAVOUR;

/** `make all`; `why` is the build's reason to run ('' when it did not). */
function makeAll(extraEnv: Record<string, string> = {}): { code: number | null; why: string; stderr: string } {
  const r = spawnSync('make', ['--no-print-directory', 'all', `KSFT_TESTS=${tests}`, `KSFT_BUILD=${build}`],
    { cwd: ROOT, env: { ...env, ...extraEnv }, encoding: 'utf8' });
  const why = /^build: rebuilding: (.*)$/m.exec(r.stderr)?.[1] ?? '';
  return { code: r.status, why, stderr: r.stderr };
}

const bundle = join(build, 'tests/demo/demo_pass.mjs');
const mtime = (p: string): bigint => statSync(p, { bigint: true }).mtimeNs;

t.test('nothing changed: no build; a source, a new file, an output or the environment: a build', async (t) => {
  const first = makeAll();
  t.equal(first.code, 0, first.stderr);
  t.equal(first.why, '', 'no check yet: the first build leaves it in the build folder');
  t.ok(statSync(join(build, '.stamps/up_to_date.mjs')).isFile());

  const before = mtime(bundle);
  const again = makeAll();
  t.equal(again.code, 0);
  t.equal(again.stderr, '', 'the up-to-date check ran and the build did not');
  t.equal(mtime(bundle), before, 'no output rewritten');

  appendFileSync(join(demo, 'demo_lib.ts'), 'export const edited = 1;\n');
  const edited = makeAll();
  t.equal(edited.code, 0, edited.stderr);
  t.equal(edited.why, `${join(demo, 'demo_lib.ts')} changed`, 'an imported source');
  t.equal(makeAll().why, '', 'and current again');

  rmSync(join(build, 'tests/demo/demo_skip'));
  t.equal(makeAll().why, `${join(build, 'tests/demo/demo_skip')} changed`, 'a deleted output');
  t.ok(statSync(join(build, 'tests/demo/demo_skip')).isFile(), 'written again');

  const flavoured = makeAll({ DEMO_FLAVOUR: 'demo_helper' });
  t.equal(flavoured.why, 'selection, Node version or Makefile environment changed', 'a variable the Makefile reads');
  t.match(readFileSync(join(build, 'kselftest-list.txt'), 'utf8'), /^demo:demo_helper$/m);
  t.equal(makeAll().why, 'selection, Node version or Makefile environment changed', 'and back');
});

t.test('a failed build is never current: an unlisted file, a type error', async (t) => {
  makeAll();
  writeFileSync(join(demo, 'stray.ts'), 'export const stray = 1;\n');
  const stray = makeAll();
  t.not(stray.code, 0);
  t.match(stray.why, new RegExp(`^${demo}.* changed$`), 'the new file changed its directory');
  t.match(stray.stderr, /stray\.ts is in the collection but not listed/);
  const still = makeAll();
  t.not(still.code, 0, 'fails again rather than passing on a stale stamp');
  t.equal(still.why, 'no finished build of this selection');
  rmSync(join(demo, 'stray.ts'));
  t.equal(makeAll().code, 0);

  const src = readFileSync(join(demo, 'demo_pass.ts'), 'utf8');
  writeFileSync(join(demo, 'demo_pass.ts'), `${src}\nconst wrong: number = 'text';\nexport { wrong };\n`);
  const typed = makeAll();
  t.not(typed.code, 0);
  t.match(typed.stderr, /typechecking failed/);
  t.not(makeAll().code, 0, 'still failing');
  writeFileSync(join(demo, 'demo_pass.ts'), src);
  t.equal(makeAll().code, 0);
  t.equal(makeAll().why, '');
});
