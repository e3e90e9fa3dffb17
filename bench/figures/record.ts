// Recording guest programs: µs per recorded op in a built bundle under
// --enable-source-maps, against one source-mapped stack (what resolving
// each op's location at record time costs).
//   node --import tsx bench/figures/record.ts [ops=20000]
import { join } from 'node:path';
import { buildFixtures } from '../lib/fixtures.js';
import { fmt, scratch, timeRun } from '../lib/measure.js';
import { emitRow } from '../lib/report.js';

const ops = Number(process.argv[2] ?? 20000);
const dir = scratch('record');
const prog = join(buildFixtures(join(dir, 'build')), 'record_ops');
const r = timeRun(prog, [String(ops)], { env: { ...process.env, NODE_OPTIONS: '' } });
if (r.status !== 0) throw new Error(`record_ops: status ${r.status}: ${r.stderr.trim().split('\n').slice(0, 3).join(' / ')}`);
const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { recordUsPerOp: number; stackUs: number };
const ratio = m.recordUsPerOp / m.stackUs;
emitRow({
  id: 'record.per_op', figure: 'recording guest programs', ours: `${fmt.us(m.recordUsPerOp)}/op`, anchor: `a source-mapped stack ${fmt.us(m.stackUs)}`,
  ratio, target: 'cheap locations, resolved only on failure (≤ 0.25× a mapped stack per op)', met: ratio <= 0.25,
});
