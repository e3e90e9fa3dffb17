// Per-test cost of the runner: N trivial `exit 0` shell tests in one
// collection, run through the bundled runner.
//   node --import tsx bench/runner_overhead.ts [N=200] [runs=3]
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRunner } from '../tools/build/build.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const n = Number(process.argv[2] ?? 200);
const runs = Number(process.argv[3] ?? 3);

const dir = mkdtempSync(join(tmpdir(), 'ksft-bench-'));
const runner = await buildRunner(root, join(dir, 'build'));
mkdirSync(join(dir, 'tree/bench'), { recursive: true });
const list: string[] = [];
for (let i = 0; i < n; i++) {
  const f = join(dir, 'tree/bench', `t${i}`);
  writeFileSync(f, '#!/bin/sh\nexit 0\n');
  chmodSync(f, 0o755);
  list.push(`bench:t${i}\n`);
}
writeFileSync(join(dir, 'tree/kselftest-list.txt'), list.join(''));

for (let i = 0; i < runs; i++) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(runner, ['--base-dir', join(dir, 'tree'), '--list-file', join(dir, 'tree/kselftest-list.txt')], {
    env: { ...process.env, NODE_OPTIONS: '' },
    maxBuffer: 64 << 20,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const ok = r.stdout.toString().split('\n').filter((l) => l.startsWith('ok ')).length;
  console.log(`run ${i + 1}: exit ${r.status}, ${ok}/${n} ok in ${ms.toFixed(0)} ms = ${(ms / n).toFixed(2)} ms per test (runner start included)`);
}
