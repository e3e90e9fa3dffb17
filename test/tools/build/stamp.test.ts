// The build stamp on its own: what it records and when it is refused
// (the make-level behaviour is in incremental.test.ts).
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkStamp, selectionMakefiles, stampKey, stampPath, writeStamp, type Selection } from '../../../tools/build/stamp.js';
import { tmpDir } from '../runner/helpers.js';

function setup(): { root: string; sel: Selection; src: string; out: string } {
  const root = tmpDir('ksft-stamp-root-');
  mkdirSync(join(root, 'tools/build'), { recursive: true });
  writeFileSync(join(root, 'tools/build/lib.mk'), '# lib\n');
  const testsDir = join(root, 'tests');
  mkdirSync(join(testsDir, 'c'), { recursive: true });
  writeFileSync(join(testsDir, 'c/Makefile'), 'TEST_GEN_PROGS := a $(STAMP_TEST_EXTRA)\n');
  const src = join(testsDir, 'c/a.ts');
  writeFileSync(src, 'export {};\n');
  const outDir = join(root, 'build');
  mkdirSync(outDir);
  const out = join(outDir, 'a.mjs');
  writeFileSync(out, '');
  return { root, sel: { out: outDir, testsDir, collections: ['c'] }, src, out };
}

/** A build start after every file here was written. */
const LATER = BigInt(Date.now() + 3_600_000) * 1_000_000n;

const key = (root: string, sel: Selection): string => stampKey(sel, selectionMakefiles(root, sel));

t.test('current until a recorded file changes, appears or goes', async (t) => {
  const { root, sel, src, out } = setup();
  t.same(checkStamp(sel), { fresh: false, reason: 'no finished build of this selection' });
  const missing = join(sel.testsDir, 'c/settings');
  writeStamp(root, sel, key(root, sel), { sources: [src, missing], outputs: [out], startedNs: LATER });
  t.same(checkStamp(sel), { fresh: true });
  writeFileSync(missing, 'timeout=5\n');
  t.same(checkStamp(sel), { fresh: false, reason: `${missing} changed` }, 'a file recorded as absent');
  writeStamp(root, sel, key(root, sel), { sources: [src], outputs: [out], startedNs: LATER });
  writeFileSync(out, 'x');
  t.same(checkStamp(sel), { fresh: false, reason: `${out} changed` });
});

t.test('a source modified after the build started is recorded as changed', async (t) => {
  const { root, sel, src, out } = setup();
  const started = BigInt(Date.now()) * 1_000_000n;
  utimesSync(src, new Date(), new Date(Date.now() + 1000));
  writeStamp(root, sel, key(root, sel), { sources: [src], outputs: [out], startedNs: started });
  t.same(checkStamp(sel), { fresh: false, reason: `${src} changed` });
});

t.test('the key: the environment the Makefiles read, not the rest', async (t) => {
  const { root, sel, src, out } = setup();
  const saved = process.env.STAMP_TEST_EXTRA;
  t.teardown(() => { if (saved === undefined) delete process.env.STAMP_TEST_EXTRA; else process.env.STAMP_TEST_EXTRA = saved; });
  delete process.env.STAMP_TEST_EXTRA;
  writeStamp(root, sel, key(root, sel), { sources: [src], outputs: [out], startedNs: LATER });
  process.env.STAMP_UNRELATED_VARIABLE = 'x';
  t.same(checkStamp(sel), { fresh: true }, 'a variable no Makefile names');
  process.env.STAMP_TEST_EXTRA = 'b';
  t.same(checkStamp(sel), { fresh: false, reason: 'selection, Node version or Makefile environment changed' });
  t.same(checkStamp({ ...sel, collections: [] }), { fresh: false, reason: 'no finished build of this selection' }, 'another selection has its own stamp');
});

t.test('a stamp that is not one is refused by its schema', async (t) => {
  const { sel } = setup();
  mkdirSync(join(sel.out, '.stamps'), { recursive: true });
  writeFileSync(stampPath(sel), JSON.stringify({ version: 1, key: 'k', files: {} }));
  t.same(checkStamp(sel), { fresh: false, reason: `${stampPath(sel)} is not a build stamp` });
});
