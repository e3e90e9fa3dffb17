// `make new_test` (tools/new_test): a test from a template, listed in its
// collection, that builds, runs and passes at once, in each style and in
// every collection kind (tests/kvm on KSFT_PLATFORM, tests/coco/<platform>
// on its platform); a bad or taken name is one line and nothing written.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildCollections } from '../../../tools/build/build.js';
import { createTest, NewTestError } from '../../../tools/new_test/create.js';
import { PLATFORM_NAMES } from '../../../lib/kvm_util/platform_types.js';
import { ROOT, tmpDir } from '../runner/helpers.js';

// The templates import the library relative to tests/<collection>/, so the
// collections of this test sit one level below the project root, as tests/ does.
const TESTS = join(ROOT, `.new_test_${process.pid}`);
t.teardown(() => rmSync(TESTS, { recursive: true, force: true }));

const COLLECTIONS = ['kvm', ...PLATFORM_NAMES.map((p) => `coco/${p}`)];
for (const c of COLLECTIONS) {
  mkdirSync(join(TESTS, c), { recursive: true });
  writeFileSync(join(TESTS, c, 'Makefile'), `# ${c}\nTEST_GEN_PROGS := existing_test\n\ninclude ${join(ROOT, 'tools/build/lib.mk')}\n`);
  writeFileSync(join(TESTS, c, 'existing_test.ts'), 'process.exitCode = 0;\n');
}

/** createTest() as the command line reports it: exit status, stdout, stderr. */
function newTest(args: Record<string, string>): { status: number; stdout: string; stderr: string } {
  const unknown = Object.keys(args).find((k) => !['collection', 'name', 'style'].includes(k));
  if (unknown) return cli(args);
  try {
    const stdout = createTest({ COLLECTION: args.collection, NAME: args.name, STYLE: args.style }, TESTS, ROOT);
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    if (!(e instanceof NewTestError)) throw e;
    return { status: 1, stdout: '', stderr: `${e.message}\n` };
  }
}

/** The command line itself (tools/new_test/main.ts). */
function cli(args: Record<string, string>): { status: number; stdout: string; stderr: string } {
  const argv = Object.entries(args).flatMap(([k, v]) => [`--${k}`, v]);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/new_test/main.ts'), '--tests-dir', TESTS, ...argv], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const env = { ...process.env, NODE_OPTIONS: '', KSFT_BACKEND: 'model', KSFT_PLATFORM: '', KSFT_KERNEL: '', KSFT_TRACE: '' };

function run(file: string, extra: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, [], { env: { ...env, ...extra }, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

t.test('a plain and a harness test in tests/kvm: written, listed, built, passing', async (t) => {
  const a = cli({ collection: 'kvm', name: 'first_test', style: '' });
  t.equal(a.status, 0, a.stderr);
  t.match(a.stdout, /^new_test: wrote \.new_test_\d+\/kvm\/first_test\.ts \(plain\) and listed it in \.new_test_\d+\/kvm\/Makefile \(TEST_GEN_PROGS\)\n/);
  const b = newTest({ collection: 'kvm', name: 'second_test', style: 'harness' });
  t.equal(b.status, 0, b.stderr);
  t.match(readFileSync(join(TESTS, 'kvm/Makefile'), 'utf8'), /^TEST_GEN_PROGS := existing_test first_test second_test$/m);
  t.match(readFileSync(join(TESTS, 'kvm/first_test.ts'), 'utf8'), /kvmSelftestMain\(async \(\) => \{/);
  t.match(readFileSync(join(TESTS, 'kvm/second_test.ts'), 'utf8'), /TEST\('guest_and_host_exchange_a_page'/);

  const out = tmpDir('ksft-new-test-');
  const r = await buildCollections({ root: ROOT, out, testsDir: TESTS, collections: ['kvm'] });
  t.same(r.failures, [], 'builds, and nothing in the collection is left unlisted');
  const plain = spawnSync(join(out, 'tests/kvm/first_test'), [], { env, encoding: 'utf8' });
  t.equal(plain.status, 0, plain.stderr);
  t.equal(plain.stdout, 'Random seed: 0x6b8b4567\n');
  const harness = spawnSync(join(out, 'tests/kvm/second_test'), [], { env, encoding: 'utf8' });
  t.equal(harness.status, 0, harness.stderr);
  t.match(harness.stdout, /\nok 1 global\.guest_and_host_exchange_a_page\n[\s\S]*# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0\n$/);
  // The generic test follows KSFT_PLATFORM.
  const platforms = ['tdx', 'snp', 'cca', 'sev'];
  const runs = await Promise.all(platforms.map((p) => run(join(out, 'tests/kvm/first_test'), { KSFT_PLATFORM: p })));
  platforms.forEach((p, i) => t.equal(runs[i]!.status, 0, `KSFT_PLATFORM=${p}: ${runs[i]!.stderr}`));
});

t.test('in every tests/coco/<platform> collection the new test is for that platform and passes', async (t) => {
  const coco = COLLECTIONS.filter((c) => c.startsWith('coco/'));
  for (const c of coco) {
    const r = newTest({ collection: c, name: 'new_test', style: 'harness' });
    t.equal(r.status, 0, `${c}: ${r.stderr}`);
    t.match(readFileSync(join(TESTS, c, 'new_test.ts'), 'utf8'), new RegExp(`cocoVmCreate\\('${c.slice(5)}'`), c);
  }
  const out = tmpDir('ksft-new-test-');
  const b = await buildCollections({ root: ROOT, out, testsDir: TESTS, collections: coco });
  t.same(b.failures, []);
  // Each is its own process, as under the runner; they run side by side.
  const runs = await Promise.all(coco.map((c) => run(join(out, 'tests', c, 'new_test'))));
  coco.forEach((c, i) => {
    const r = runs[i]!;
    t.equal(r.status, 0, `${c}: ${r.stdout}${r.stderr}`);
    t.match(r.stdout, /# Totals: pass:1 fail:0/, c);
  });
});

t.test('a bad or taken name, a bad collection or style: one line, exit 1, nothing written', async (t) => {
  const before = readFileSync(join(TESTS, 'kvm/Makefile'), 'utf8');
  const cases: [Record<string, string>, string][] = [
    [{ collection: 'kvm', name: 'Bad-Name' }, "new_test: NAME 'Bad-Name' is not valid (expected lowercase letters, digits and _, starting with a letter, at most 64 characters, e.g. foo_test)"],
    [{ collection: 'kvm', name: '9lives' }, "new_test: NAME '9lives' is not valid"],
    [{ collection: 'kvm', name: 'existing_test' }, "new_test: NAME 'existing_test' is taken: .new_test_"],
    [{ collection: 'kvm', name: 'ghost_test' }, "new_test: NAME 'ghost_test' is taken: .new_test_"],
    [{ collection: 'nowhere', name: 'x_test' }, "new_test: COLLECTION 'nowhere' is not a collection under .new_test_"],
    [{ collection: '../etc', name: 'x_test' }, "new_test: COLLECTION '../etc' is not valid"],
    [{ name: 'x_test' }, 'new_test: COLLECTION is required (make new_test COLLECTION=<collection> NAME=<name> [STYLE=plain|harness])'],
    [{ collection: 'kvm' }, 'new_test: NAME is required'],
    [{ collection: 'kvm', name: 'x_test', style: 'fancy' }, "new_test: STYLE 'fancy' is not valid (expected plain|harness)"],
    [{ collection: 'kvm', name: 'x_test', bogus: '1' }, "new_test: unknown option '--bogus'"],
  ];
  // Listed under another variable: taken although no .ts file exists.
  writeFileSync(join(TESTS, 'kvm/Makefile'), before.replace('TEST_GEN_PROGS :=', 'TEST_PROGS := ghost_test.sh\nTEST_GEN_PROGS :='));
  writeFileSync(join(TESTS, 'kvm/ghost_test.sh'), '#!/bin/sh\n');
  const listed = readFileSync(join(TESTS, 'kvm/Makefile'), 'utf8');
  for (const [args, message] of cases) {
    const r = newTest(args);
    t.equal(r.status, 1, message);
    t.equal(r.stdout, '', 'nothing on stdout');
    t.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    t.ok(r.stderr.startsWith(message), r.stderr);
  }
  t.equal(readFileSync(join(TESTS, 'kvm/Makefile'), 'utf8'), listed, 'the Makefile is unchanged');
  t.notOk(existsSync(join(TESTS, 'kvm/x_test.ts')));
});

t.test('through make: the variables reach the tool whatever they hold', async (t) => {
  const r = spawnSync('make', ['-s', '--no-print-directory', '-C', ROOT, 'new_test', `KSFT_TESTS=${TESTS}`, 'COLLECTION=kvm', "NAME=it's"], { encoding: 'utf8' });
  t.not(r.status, 0);
  t.equal(r.stderr.split('\n')[0], "new_test: NAME 'it's' is not valid (expected lowercase letters, digits and _, starting with a letter, at most 64 characters, e.g. foo_test)");
  const ok = spawnSync('make', ['-s', '--no-print-directory', '-C', ROOT, 'new_test', `KSFT_TESTS=${TESTS}`, 'COLLECTION=kvm', 'NAME=via_make_test'], { encoding: 'utf8' });
  t.equal(ok.status, 0, ok.stderr);
  t.ok(existsSync(join(TESTS, 'kvm/via_make_test.ts')));
});
