// The build on the fixture collections: one esbuild call, flattened output,
// launchers that run as plain node with source maps, the test list, errors.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { buildCollections } from '../../../tools/build/build.js';
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
  t.match(readFileSync(join(out, 'tests/demo/demo_pass.mjs'), 'utf8'), /\/\/# sourceMappingURL=data:application\/json;base64,/);
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
  t.match(why.get('broken'), /bundling the tests failed:\n.*broken_test\.ts:1:6: /);
  t.match(why.get('nowhere'), /no collection 'nowhere'/);
  t.equal(r.bundled, 1, 'the good collection is still built');
  t.ok(existsSync(join(out, 'tests/fine/fine_test')));
  t.notOk(existsSync(join(out, 'tests/broken/broken_test')), 'stale launcher removed');
  t.notOk(existsSync(join(out, 'tests/broken/broken_test.mjs')), 'stale bundle removed');
  t.equal(r.list, 'broken:broken_test\nnofile:absent_test\nclash:dup\nclash:dup\nfine:fine_test\n',
    'failed collections keep their list lines, so their tests run as missing');
});
