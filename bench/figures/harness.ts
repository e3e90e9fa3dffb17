// Harness cost per TEST: twenty TESTs that pass at once in one program, in
// our harness (a built bundle, each TEST in its own process group as the C
// harness forks one per TEST) and in the kernel's kselftest_harness.h.
//   node --import tsx bench/figures/harness.ts [runs=5]
import { join } from 'node:path';
import { kernelSource } from '../../tools/peers/kernel_source.js';
import { buildFixtures } from '../lib/fixtures.js';
import { ROOT, compileC, fmt, median, scratch, timeRun } from '../lib/measure.js';
import { emitRow } from '../lib/report.js';

const runs = Number(process.argv[2] ?? 5);
const TESTS = 20;
const dir = scratch('harness');
const figure = `harness, ${TESTS} trivial TESTs in one program`;

const src = kernelSource(join(ROOT, 'build/peers'));
const progs = buildFixtures(join(dir, 'build'));
const ours = join(progs, 'harness_trivial');
let c: string | undefined;
if (src.ok) c = compileC(join(dir, 'harness_c'), { file: join(ROOT, 'bench/anchors/harness_trivial.c') }, [`-I${src.source.selftestsDir}`]);

const env = { ...process.env, NODE_OPTIONS: '' };
function once(prog: string): number {
  const r = timeRun(prog, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const oks = (r.stdout.match(/^ok \d+ /gm) ?? []).length;
  if (r.status !== 0 || oks !== TESTS) throw new Error(`${prog}: status ${r.status}, ${oks} of ${TESTS} ok lines: ${r.stderr.trim().split('\n')[0] ?? ''}`);
  return r.ms / TESTS;
}

const o: number[] = [];
const k: number[] = [];
for (let i = 0; i < runs; i++) {
  if (c) k.push(once(c));
  o.push(once(ours));
}
const oms = median(o);
if (k.length) {
  const kms = median(k);
  emitRow({ id: 'harness.per_test', figure, ours: `${fmt.ms(oms)}/TEST`, anchor: `C harness ${fmt.ms(kms)}/TEST`, ratio: oms / kms, target: '≤ 10 ms/TEST amortised', met: oms <= 10 });
} else {
  emitRow({ id: 'harness.per_test', figure, ours: `${fmt.ms(oms)}/TEST`, anchor: 'C harness: unavailable', ratio: null, target: '≤ 10 ms/TEST amortised', met: oms <= 10, note: src.ok ? undefined : src.reason });
}
