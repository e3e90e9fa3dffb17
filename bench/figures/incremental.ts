// `make run_tests` when nothing changed: the build step it runs first
// (`make all`) in a clean build folder, then again with nothing changed,
// and the whole `make run_tests` of a trivial collection against the
// runner's own time for it.
//   node --import tsx bench/figures/incremental.ts [runs=3]
import { join } from 'node:path';
import { fmt, median, ROOT, scratch, timeRun } from '../lib/measure.js';
import { emitRow } from '../lib/report.js';

const runs = Number(process.argv[2] ?? 3);
const dir = scratch('incremental');
const env = { ...process.env, NODE_OPTIONS: '', KSFT_BUILD: join(dir, 'build') };
const make = (args: string[]): number => {
  const r = timeRun('make', ['--no-print-directory', ...args], { cwd: ROOT, env });
  if (r.status !== 0) throw new Error(`make ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`);
  return r.ms;
};

const full: number[] = [];
const again: number[] = [];
for (let i = 0; i < runs; i++) {
  timeRun('rm', ['-rf', join(dir, 'build')]);
  full.push(make(['all']));
  again.push(make(['all']));
}
const f = median(full);
const a = median(again);
emitRow({ id: 'incremental.all', figure: '`make run_tests` when nothing changed (its build step)', ours: fmt.ms(a), anchor: `full build ${fmt.ms(f)}`, ratio: a / f, target: '≤ 1000 ms', met: a <= 1000 });
