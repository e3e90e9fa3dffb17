// Start-up of a KVM test that skips at once (a built bundle run as the
// runner runs it) against `node -e 0`; runs interleave.
//   node --import tsx bench/figures/start.ts [runs=9]
import { join } from 'node:path';
import { buildFixtures } from '../lib/fixtures.js';
import { fmt, median, scratch, timeRun } from '../lib/measure.js';
import { emitRow } from '../lib/report.js';

const runs = Number(process.argv[2] ?? 9);
const dir = scratch('start');
const prog = join(buildFixtures(join(dir, 'build')), 'skip_at_once');
const env = { ...process.env, NODE_OPTIONS: '' };

const t: number[] = [];
const n: number[] = [];
for (let i = 0; i < runs; i++) {
  const r = timeRun(prog, [], { env });
  if (r.status !== 4 || !/^1\.\.0 # SKIP|^ok \d+ .*# SKIP|Requirement not met/m.test(r.stdout)) {
    throw new Error(`skip_at_once: status ${r.status} (want 4): ${r.stdout.trim().split('\n').slice(-1)[0] ?? ''}`);
  }
  t.push(r.ms);
  n.push(timeRun(process.execPath, ['-e', '0'], { env }).ms);
}
const tm = median(t);
const nm = median(n);
emitRow({ id: 'start.skip', figure: 'start of a KVM test that skips at once', ours: fmt.ms(tm), anchor: `node -e 0 ${fmt.ms(nm)}`, ratio: tm / nm, target: '≤ 1.2×', met: tm / nm <= 1.2 });
