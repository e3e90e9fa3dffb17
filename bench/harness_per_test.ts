// What one TEST costs in the harness: each TEST runs in a process of its
// own (C forks; this harness starts the program again). A program with N
// trivial TESTs is bundled exactly as `make` bundles a selftest (ESM, inline
// source map, the `node --enable-source-maps` launcher), importing
// kvm_util and the platform plugins as the coco tests do, and run with 1 and
// with N TESTs; the difference divided by N-1 is the cost per TEST, in wall
// time and in CPU time (user+sys of the harness and all its test processes,
// from /usr/bin/time).
//   node --import tsx bench/harness_per_test.ts [N=21] [runs=5]
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const n = Number(process.argv[2] ?? 21);
const runs = Number(process.argv[3] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'ksft-bench-harness-'));

async function program(count: number): Promise<string> {
  const src = join(dir, `trivial_${count}.ts`);
  const tests = Array.from({ length: count }, (_, i) => `TEST('t${i}', () => { EXPECT_EQ(ENV_DEFAULTS.KSFT_BACKEND, 'model'); });`);
  writeFileSync(src, [
    `import { EXPECT_EQ, TEST, TEST_HARNESS_MAIN } from '${root}/lib/harness/index.js';`,
    `import { ENV_DEFAULTS } from '${root}/lib/kvm_util/options.js';`,
    `import { cocoVmCreate } from '${root}/lib/kvm_util/coco.js';`,
    // Referenced, so the bundle holds what a coco test's bundle holds.
    `export const unused = cocoVmCreate;`,
    ...tests,
    'await TEST_HARNESS_MAIN();',
    '',
  ].join('\n'));
  const out = join(dir, `trivial_${count}`);
  await build({ entryPoints: [src], bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: 'inline', outfile: `${out}.mjs`, logLevel: 'error',
    banner: { js: "import { createRequire as __ksftCreateRequire } from 'node:module'; const require = __ksftCreateRequire(import.meta.url);" } });
  writeFileSync(out, `#!/usr/bin/env -S node --enable-source-maps\nimport('./trivial_${count}.mjs');\n`);
  chmodSync(out, 0o755);
  return out;
}

interface Sample { wall: number; cpu: number }

function measure(prog: string): Sample {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', prog], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.status !== 0) throw new Error(`${prog} exited ${r.status}: ${r.stdout}${r.stderr}`);
  const [wall, user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { wall: wall! * 1000, cpu: (user! + sys!) * 1000 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const one = await program(1);
const many = await program(n);
const a: Sample[] = [];
const b: Sample[] = [];
for (let i = 0; i < runs; i++) {
  a.push(measure(one));
  b.push(measure(many));
}
const wall = (median(b.map((s) => s.wall)) - median(a.map((s) => s.wall))) / (n - 1);
const cpu = (median(b.map((s) => s.cpu)) - median(a.map((s) => s.cpu))) / (n - 1);
console.log(`1 TEST: ${median(a.map((s) => s.wall)).toFixed(0)} ms wall, ${median(a.map((s) => s.cpu)).toFixed(0)} ms CPU; ${n} TESTs: ${median(b.map((s) => s.wall)).toFixed(0)} ms wall, ${median(b.map((s) => s.cpu)).toFixed(0)} ms CPU (medians of ${runs})`);
console.log(`per TEST: ${wall.toFixed(1)} ms wall, ${cpu.toFixed(1)} ms CPU`);
rmSync(dir, { recursive: true, force: true });
