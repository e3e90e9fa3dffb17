/** Recovering `#expr` text from TypeScript source. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { callSite, sourceArgs, splitArgs } from '../../../lib/source/location.js';

t.test('splitArgs stringifies like the C preprocessor', async (t) => {
  const call = (src: string, n: number) => splitArgs(src, src.indexOf('('), n);
  t.same(call('ASSERT_EQ(0, 1)', 2), ['0', '1']);
  t.same(call('ASSERT_EQ(f(a, b), [1,\n   2])', 2), ['f(a, b)', '[1, 2]']);
  t.same(call("ASSERT_EQ('a,b', `x${g(1, 2)}y`)", 2), ["'a,b'", '`x${g(1, 2)}y`']);
  t.same(call('ASSERT_EQ(/* c, d */ x, // e, f\n y)', 2), ['x', 'y']);
  t.same(call('ASSERT_EQ(a, b, () => TH_LOG("x"))', 2), ['a', 'b'], 'the on-failure callback is not an operand');
  t.same(call('ASSERT_TRUE(ok)', 1), ['ok']);
  t.equal(call('ASSERT_EQ(a', 2), undefined, 'unterminated call');
});

t.test('sourceArgs picks the call at the reported column', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ksft-loc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'two.ts');
  writeFileSync(path, 'x;\n  EXPECT_EQ(a, 1); EXPECT_EQ(b, 2);\n');
  const site = (column: number) => ({ path, file: 'two.ts', line: 2, column });
  t.same(sourceArgs(site(3), 'EXPECT_EQ', 2), ['a', '1']);
  t.same(sourceArgs(site(20), 'EXPECT_EQ', 2), ['b', '2']);
  t.equal(sourceArgs(site(3), 'ASSERT_EQ', 2), undefined, 'no such call on the line');
  t.equal(sourceArgs({ path: join(dir, 'missing.ts'), file: 'missing.ts', line: 1, column: 1 }, 'EXPECT_EQ', 2), undefined);
});

t.test('callSite names this file and line', async (t) => {
  function probe() {
    return callSite(probe);
  }
  const here = probe();
  t.equal(here?.file, 'location.test.ts');
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  t.equal(here?.line, text.findIndex((l) => l.includes('const here = probe();')) + 1);
});

t.test('an installed bundle whose .ts sources are gone still prints the condition text', async (t) => {
  // make install / gen_tar ship bundles without the .ts tree: the text must
  // come from the bundle's own source map (sourcesContent), for the
  // harness and for kvm_util's TEST_ASSERT alike.
  const { build } = await import('esbuild');
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'ksft-gone-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'gone_test.ts');
  const lib = fileURLToPath(new URL('../../../lib/kvm_util/assert.js', import.meta.url)).replace(/\.js$/, '.ts');
  writeFileSync(src, `import { TEST_ASSERT } from ${JSON.stringify(lib)};\nconst answer = 41;\nTEST_ASSERT(answer === 42, 'the answer is %d', answer);\n`);
  const out = join(dir, 'gone_test.mjs');
  await build({ entryPoints: [src], bundle: true, platform: 'node', format: 'esm', sourcemap: 'inline', sourcesContent: true, outfile: out, logLevel: 'error' });
  rmSync(src);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, ['--enable-source-maps', out], { env, encoding: 'utf8' });
  t.equal(r.status, 254);
  t.match(r.stderr, /gone_test\.ts:3: answer === 42\n/);
});
