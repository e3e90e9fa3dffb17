/**
 * Address kinds cannot be mixed at compile time (lib/kvm_util/types.ts):
 * tsc over compile_fail/ must report exactly the lines marked `@error`,
 * each with the diagnostic quoted there, and nothing else (the unmarked
 * lines show what still compiles: literals, arithmetic, the right kind).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gpa, gva, hex, hva } from '../../../lib/kvm_util/types.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIR = fileURLToPath(new URL('./compile_fail/', import.meta.url));

t.test('tsc refuses every marked line with the expected diagnostic, and only those', async (t) => {
  const expected = new Map<string, string>();
  for (const f of readdirSync(DIR).filter((n) => n.endsWith('.ts'))) {
    readFileSync(join(DIR, f), 'utf8').split('\n').forEach((line, i) => {
      const m = /\/\/ @error (.*)$/.exec(line);
      if (m) expected.set(`${relative(ROOT, join(DIR, f))}:${i + 1}`, m[1]!);
    });
  }
  t.ok(expected.size >= 10, `${expected.size} marked lines`);
  // tsc as a user runs it: tap's process-info hook, which it adds to every
  // child's NODE_OPTIONS, cannot load tsc's ES module entry point.
  const r = spawnSync('sh', ['-c', 'unset NODE_OPTIONS; exec "$@"', 'sh', join(ROOT, 'node_modules/.bin/tsc'), '-p', join(DIR, 'tsconfig.json'), '--pretty', 'false'],
    { cwd: ROOT, encoding: 'utf8' });
  t.not(r.status, 0, `tsc reports errors (${r.stderr || r.error?.message || 'no stderr'})`);
  const got = new Map<string, string>();
  for (const m of r.stdout.matchAll(/^(\S+)\((\d+),\d+\): error TS\d+: (.*)$/gm)) got.set(`${m[1]}:${m[2]}`, m[3]!);
  t.same([...got.keys()].sort(), [...expected.keys()].sort(), 'the failing lines are the marked ones');
  for (const [where, text] of expected) t.equal(got.get(where), text, where);
});

t.test('the brands are compile-time only: the values are the plain integers', async (t) => {
  t.equal(gpa(1n << 32n), 1n << 32n);
  t.equal(hva(0x7f00_0000_0000), 0x7f0000000000n);
  t.equal(gva(4096), 4096n);
  t.equal(hex(gpa(0x1000n) + 1n), '0x1001');
});
