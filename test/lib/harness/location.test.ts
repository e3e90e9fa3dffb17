/** Recovering `#expr` text from TypeScript source. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { callSite, sourceArgs, splitArgs } from '../../../lib/harness/location.js';

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
