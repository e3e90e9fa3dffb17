// `make bench`: every figure of bench/figures beside its anchor, in one
// table, printed and written with the machine and date to bench/RESULTS.md.
// Each figure runs in its own Node process (memory figures need a fresh
// heap) and prints its rows as BENCH_ROW lines; a figure that fails becomes
// a `not met` row naming the error, and the rest still run.
//   node --import tsx bench/make_bench.ts [FIGURE...]   (default: all; or BENCH="runner harness")
//   BENCH_SKIP="make_check" leaves figures out (their rows say "not run").
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lib/measure.js';
import { markdownTable, parseRows, verdict, type BenchRow } from './lib/report.js';

/** In table order; the rows of each figure are the issue's rows. */
const FIGURES = ['runner', 'harness', 'start', 'visibility', 'attributes', 'record', 'gmem', 'memslots', 'make_check', 'incremental', 'kvm_exit'] as const;
type Figure = (typeof FIGURES)[number];

function selected(): Figure[] {
  const want = (process.argv.slice(2).length ? process.argv.slice(2) : (process.env.BENCH ?? '').split(/[\s,]+/)).filter(Boolean);
  const skip = (process.env.BENCH_SKIP ?? '').split(/[\s,]+/).filter(Boolean);
  for (const n of [...want, ...skip]) {
    if (!(FIGURES as readonly string[]).includes(n)) {
      process.stderr.write(`bench: unknown figure '${n}' (figures: ${FIGURES.join(' ')})\n`);
      process.exit(2);
    }
  }
  return FIGURES.filter((f) => (want.length === 0 || want.includes(f)) && !skip.includes(f));
}

function run(figure: Figure): BenchRow[] {
  process.stderr.write(`bench: ${figure} ...\n`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench/figures', `${figure}.ts`)], {
    cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' }, maxBuffer: 64 << 20,
  });
  process.stderr.write(`bench: ${figure} took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  let rows: BenchRow[] = [];
  let error = r.error?.message;
  try {
    rows = parseRows(r.stdout ?? '');
  } catch (e) {
    error = (e as Error).message;
  }
  if (r.status !== 0 && !error) error = `exit ${r.status ?? r.signal}`;
  if (error || rows.length === 0) {
    rows.push({ id: `${figure}.error`, figure, ours: '-', anchor: '-', ratio: null, target: '-', met: false, note: `figure failed: ${error ?? 'no rows'}` });
  }
  return rows;
}

function machine(): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  const kvm = existsSync('/dev/kvm') ? '/dev/kvm present' : 'no /dev/kvm';
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() || 'unknown';
  return `${model}, ${cpus().length} CPUs, Linux ${release()}, Node ${process.version}, ${kvm}; commit ${head}`;
}

const figures = selected();
const rows: BenchRow[] = [];
for (const f of FIGURES) {
  if (figures.includes(f)) rows.push(...run(f));
}
const table = markdownTable(rows);
process.stdout.write(table);
const met = rows.filter((r) => r.met === true).length;
const notMet = rows.filter((r) => r.met === false).length;
process.stdout.write(`${met} met, ${notMet} not met, ${rows.length - met - notMet} not measured\n`);

const all = figures.length === FIGURES.length;
const out = join(ROOT, 'bench', all ? 'RESULTS.md' : 'RESULTS.partial.md');
writeFileSync(out, `# make bench

${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}.
Ratios are ours / anchor, medians of runs interleaved with the anchor's in one
process tree; regenerate with \`make bench\` (bench/README.md says what each
figure measures).${all ? '' : ` Figures run: ${figures.join(', ')}.`}

${table}
${met} met, ${notMet} not met, ${rows.length - met - notMet} not measured.
`);
process.stderr.write(`bench: wrote ${out}\n`);
for (const r of rows) if (r.met === false) process.stderr.write(`bench: ${verdict(r)}: ${r.figure}${r.note ? ` (${r.note})` : ''}\n`);
