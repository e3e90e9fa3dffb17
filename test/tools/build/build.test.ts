// The build on the fixture collections: one esbuild call, flattened output,
// launchers that run as plain node with source maps, the test list, errors.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { buildCollections } from '../../../tools/build/build.js';
import { bundleTests } from '../../../tools/build/bundle.js';
import { discoverCollections } from '../../../tools/build/collections.js';
import { TEST_SHEBANG } from '../../../tools/build/layout.js';
import { ROOT, tmpDir } from '../runner/helpers.js';

const FIXTURE_TESTS = join(ROOT, 'test/tools/fixtures/tests');
const tmp = (): string => tmpDir('ksft-build-');

t.test('discovery finds nested collections with a test-declaring Makefile', async (t) => {
  t.same(discoverCollections(FIXTURE_TESTS), ['demo', 'nested/inner']);
});

t.test('build layout, modes, list', async (t) => {
  const out = tmp();
  const r = await buildCollections({ root: ROOT, out, testsDir: FIXTURE_TESTS, collections: ['demo', 'nested/inner'] });
  t.equal(r.bundled, 4, 'demo_pass, demo_skip, demo_helper, inner_test');
  t.equal(readFileSync(join(out, 'kselftest-list.txt'), 'utf8'),
    'demo:demo_pass\ndemo:demo_skip\ndemo:demo_script.sh\nnested/inner:inner_test\n',
    'TEST_GEN_PROGS then TEST_PROGS; EXTENDED programs are not listed');
  const mode = (p: string): number => statSync(join(out, p)).mode & 0o777;
  t.equal(mode('tests/demo/demo_pass'), 0o755);
  t.equal(mode('tests/demo/demo_pass.mjs'), 0o644);
  t.equal(mode('tests/demo/demo_script.sh'), 0o755, 'TEST_PROGS keep their mode');
  t.equal(mode('tests/demo/demo_data.txt'), 0o644);
  t.equal(mode('run_kselftest.sh'), 0o755);
  t.equal(readFileSync(join(out, 'tests/demo/settings'), 'utf8'), '# demo collection settings\ntimeout=7\n');
  t.equal(readFileSync(join(out, 'tests/demo/demo_pass'), 'utf8').split('\n')[0], TEST_SHEBANG);
  t.match(readFileSync(join(out, 'tests/demo/demo_pass.mjs'), 'utf8'), /\n\/\/# sourceMappingURL=demo_pass\.mjs\.map\n$/, 'the map beside the bundle, not inline');
  t.match(JSON.parse(readFileSync(join(out, 'tests/demo/demo_pass.mjs.map'), 'utf8')), { sources: [/demo_pass\.ts$/, /demo_lib\.ts$/] });
  t.ok(existsSync(join(out, 'tests/nested/inner/inner_test')));

  // A second build of one collection keeps the others' list lines.
  await buildCollections({ root: ROOT, out, testsDir: FIXTURE_TESTS, collections: ['nested/inner'] });
  t.equal(readFileSync(join(out, 'kselftest-list.txt'), 'utf8'),
    'demo:demo_pass\ndemo:demo_skip\ndemo:demo_script.sh\nnested/inner:inner_test\n');
});

t.test('bundled programs run directly as plain node, from any cwd', async (t) => {
  const out = tmp();
  await buildCollections({ root: ROOT, out, testsDir: FIXTURE_TESTS, collections: ['demo'] });
  const env = { ...process.env, NODE_OPTIONS: '' };
  const pass = spawnSync(join(out, 'tests/demo/demo_pass'), [], { cwd: '/', env, encoding: 'utf8' });
  t.equal(pass.status, 0);
  t.equal(pass.stdout, 'TAP version 13\n1..1\nok 1 read demo data\n# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0\n',
    'top-level await, a relative import and import.meta.url work');
  const skip = spawnSync(join(out, 'tests/demo/demo_skip'), [], { env, encoding: 'utf8' });
  t.equal(skip.status, 4);
  const helper = spawnSync(join(out, 'tests/demo/demo_helper'), [], { env, encoding: 'utf8' });
  t.equal(helper.status, 1);
  t.match(helper.stderr, /Error: demo helper failure\n\s+at fail \(.*test\/tools\/fixtures\/tests\/demo\/demo_helper\.ts:4:9\)/,
    'stack traces name the .ts file and line through the source map');
  // No package.json decides the module type in a bare install directory.
  const bare = tmp();
  for (const f of ['demo_skip', 'demo_skip.mjs']) writeFileSync(join(bare, f), readFileSync(join(out, 'tests/demo', f)), { mode: f.endsWith('.mjs') ? 0o644 : 0o755 });
  writeFileSync(join(bare, 'package.json'), '{ "type": "commonjs" }\n');
  t.equal(spawnSync(join(bare, 'demo_skip'), [], { env }).status, 4, 'runs under "type": "commonjs" too');
  writeFileSync(join(bare, 'package.json'), '{ "type": "module" }\n');
  t.equal(spawnSync(join(bare, 'demo_skip'), [], { env }).status, 4, 'and under "type": "module"');
});

t.test('errors name the Makefile and the problem', async (t) => {
  const tests = tmp();
  const mk = (dir: string, body: string, files: Record<string, string> = {}): void => {
    mkdirSync(join(tests, dir), { recursive: true });
    writeFileSync(join(tests, dir, 'Makefile'), `${body}\ninclude ${join(ROOT, 'tools/build/lib.mk')}\n`);
    for (const [n, c] of Object.entries(files)) {
      mkdirSync(dirname(join(tests, dir, n)), { recursive: true });
      writeFileSync(join(tests, dir, n), c);
    }
  };
  mk('nofile', 'TEST_GEN_PROGS := absent_test');
  mk('clash', 'TEST_GEN_PROGS := x86/dup sub/dup', { 'x86/dup.ts': '', 'sub/dup.ts': '' });
  mk('broken', 'TEST_GEN_PROGS := broken_test', { 'broken_test.ts': 'const = ;\n' });
  mk('fine', 'TEST_GEN_PROGS := fine_test', { 'fine_test.ts': 'process.exitCode = 0;\n' });
  const out = tmp();
  // A stale program from an earlier good build must not survive a failed one.
  writeFileSync(join(tests, 'broken/broken_test.ts'), 'process.exitCode = 0;\n');
  const first = await buildCollections({ root: ROOT, out, testsDir: tests, collections: ['broken'] });
  t.same(first.failures, []);
  t.ok(existsSync(join(out, 'tests/broken/broken_test')));
  writeFileSync(join(tests, 'broken/broken_test.ts'), 'const = ;\n');

  const r = await buildCollections({ root: ROOT, out, testsDir: tests, collections: ['nofile', 'clash', 'broken', 'nowhere', 'fine'] });
  const why = new Map(r.failures.map((f) => [f.collection, f.message]));
  t.same([...why.keys()].sort(), ['broken', 'clash', 'nofile', 'nowhere']);
  t.match(why.get('nofile'), /nofile\/Makefile: absent_test is listed but .*nofile\/absent_test\.ts does not exist/);
  t.match(why.get('clash'), /clash\/Makefile: 'x86\/dup' and 'sub\/dup' would both install as clash\/dup/);
  t.match(why.get('broken'), /typechecking failed:\n\/.*broken\/broken_test\.ts:1:7: error TS1134: /);
  t.match(why.get('nowhere'), /no collection 'nowhere'/);
  t.equal(r.bundled, 1, 'the good collection is still built');
  t.ok(existsSync(join(out, 'tests/fine/fine_test')));
  t.notOk(existsSync(join(out, 'tests/broken/broken_test')), 'stale launcher removed');
  t.notOk(existsSync(join(out, 'tests/broken/broken_test.mjs')), 'stale bundle removed');
  t.equal(r.list, 'broken:broken_test\nnofile:absent_test\nclash:dup\nclash:dup\nfine:fine_test\n',
    'failed collections keep their list lines, so their tests run as missing');
});

t.test('a .ts file no listed program is or imports is reported; the collection still builds', async (t) => {
  const tests = tmp();
  const write = (p: string, body: string): void => {
    mkdirSync(dirname(join(tests, p)), { recursive: true });
    writeFileSync(join(tests, p), body);
  };
  const lib = `include ${join(ROOT, 'tools/build/lib.mk')}\n`;
  write('c/Makefile', `TEST_GEN_PROGS := a_test\nTEST_GEN_PROGS_EXTENDED := helper\n${lib}`);
  write('c/a_test.ts', "import { x } from './sub/shared.js';\nprocess.exitCode = x;\n");
  write('c/sub/shared.ts', 'export const x = 0;\n');
  write('c/helper.ts', 'process.exitCode = 0;\n');
  write('c/forgot_test.ts', 'process.exitCode = 1;\n');
  write('c/.scratch.ts', 'editor scratch, not a source');
  write('c/types.d.ts', 'export {};\n');
  write('c/inner/Makefile', `TEST_GEN_PROGS := inner_test\n${lib}`);
  write('c/inner/inner_test.ts', 'process.exitCode = 0;\n');
  write('c/inner/unused.ts', 'export {};\n');
  write('d/Makefile', `TEST_GEN_PROGS := d_test\n${lib}`);
  write('d/d_test.ts', "import '../c/forgot_test.js';\n");
  const out = tmp();
  const r = await buildCollections({ root: ROOT, out, testsDir: tests, collections: ['c', 'd'] });
  t.same(r.failures.map((f) => f.collection), ['c'], 'only c: an import from another collection does not list a file');
  t.match(r.failures[0]!.message, /c\/forgot_test\.ts is in the collection but not listed in .*c\/Makefile \(TEST_GEN_PROGS runs a program, TEST_GEN_PROGS_EXTENDED only builds it\) and no listed program imports it/);
  t.notMatch(r.failures[0]!.message, /shared|helper|scratch|types|inner/, 'imported, EXTENDED, dot, .d.ts and nested-collection files are fine');
  t.ok(existsSync(join(out, 'tests/c/a_test')), 'the listed tests were still built');
  const inner = await buildCollections({ root: ROOT, out, testsDir: tests, collections: ['c/inner'] });
  t.match(inner.failures[0]?.message, /c\/inner\/unused\.ts is in the collection/, 'a nested collection is checked on its own');
});

t.test('a test that does not typecheck is not built; the message names the file, line and error', async (t) => {
  const tests = tmp();
  mkdirSync(join(tests, 'typed'), { recursive: true });
  writeFileSync(join(tests, 'typed/Makefile'), `TEST_GEN_PROGS := mixed_test fine_test\ninclude ${join(ROOT, 'tools/build/lib.mk')}\n`);
  writeFileSync(join(tests, 'typed/fine_test.ts'), 'process.exitCode = 0;\n');
  writeFileSync(join(tests, 'typed/mixed_test.ts'), [
    `import { hostFill, gpa } from '${join(ROOT, 'lib/kvm_util/index.js')}';`,
    'hostFill(gpa(0x1000n), 1, 0);',
    '',
  ].join('\n'));
  mkdirSync(join(tests, 'other'), { recursive: true });
  writeFileSync(join(tests, 'other/Makefile'), `TEST_GEN_PROGS := other_test\ninclude ${join(ROOT, 'tools/build/lib.mk')}\n`);
  writeFileSync(join(tests, 'other/other_test.ts'), 'process.exitCode = 0;\n');
  const out = tmp();
  const r = await buildCollections({ root: ROOT, out, testsDir: tests, collections: ['typed', 'other'] });
  t.same(r.failures.map((f) => f.collection), ['typed'], 'only the collection holding the error');
  t.match(r.failures[0]!.message, /^typechecking failed:\n\/.*typed\/mixed_test\.ts:2:10: error TS2345: Argument of type 'Gpa' is not assignable to parameter of type 'HvaArg'\.$/);
  t.notOk(existsSync(join(out, 'tests/typed/fine_test')), 'not built, as a C test that does not compile');
  t.ok(existsSync(join(out, 'tests/other/other_test')), 'the other collection is built');
});

t.test('a bundling error names the file and position', async (t) => {
  const dir = tmp();
  writeFileSync(join(dir, 'bad.ts'), "import './nowhere.js';\n");
  await t.rejects(bundleTests([{ source: join(dir, 'bad.ts'), out: 'bad' }], tmp()), /bundling the tests failed:\n.*bad\.ts:1:7: Could not resolve "\.\/nowhere\.js"/);
});
