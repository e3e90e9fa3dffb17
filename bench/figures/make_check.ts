// `make check` on a fresh clone of this checkout's HEAD (npm ci, tap build,
// typecheck, every test file): wall time, and the slowest test file against
// tap's per-file limit (package.json "tap".timeout). Takes minutes.
//   node --import tsx bench/figures/make_check.ts
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, scratch, timeRun } from '../lib/measure.js';
import { emitRow } from '../lib/report.js';

const dir = scratch('check');
// mkdtemp's 0700 would keep the tests that run a step as another user
// (nobody: EACCES on /dev/kvm, a non-root install) out of the clone.
chmodSync(dir, 0o755);
const clone = join(dir, 'clone');
const c = timeRun('git', ['clone', '--quiet', ROOT, clone]);
if (c.status !== 0) throw new Error(`git clone: ${c.stderr.trim()}`);
const limit = Number((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { tap?: { timeout?: number } }).tap?.timeout ?? 30);
process.stderr.write(`make check in ${clone} ...\n`);
// As a user starts it, not as a sub-make of `make bench`: neither make's
// own variables nor the folders the Makefile exports (KSFT_TESTS and
// KSFT_BUILD name this checkout's, not the clone's) may reach it.
const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
for (const k of ['MAKELEVEL', 'MAKEFLAGS', 'MFLAGS', 'MAKEOVERRIDES', 'KSFT_TESTS', 'KSFT_BUILD']) delete env[k];
const r = timeRun('make', ['--no-print-directory', 'check'], { cwd: clone, env });
const failed = [...r.stdout.matchAll(/^not ok \d+ - (\S+\.test\.ts)\b/gm)].map((m) => m[1]!);
const files = [...r.stdout.matchAll(/^(?:not )?ok \d+ - (\S+\.test\.ts)\b.*# time=([\d.]+)ms/gm)].map((m) => ({ file: m[1]!, s: Number(m[2]) / 1000 }));
files.sort((a, b) => b.s - a.s);
const slowest = files[0];
const summary = r.stdout.trim().split('\n').pop() ?? '';
const min = r.ms / 60000;
const near = slowest ? slowest.s / limit : 1;
emitRow({
  id: 'make_check.fresh', figure: '`make check` on a fresh clone',
  ours: `${min.toFixed(1)} min; slowest file ${slowest ? `${slowest.file} ${slowest.s.toFixed(0)} s` : '?'}`,
  anchor: `tap limit ${limit} s/file`, ratio: null, target: '≤ 3 min, no file above half its limit',
  met: r.status === 0 && min <= 3 && near <= 0.5,
  note: `${summary}${r.status === 0 ? '' : `; make check exit ${r.status}`}; ${files.length} files${failed.length ? `; failed: ${failed.join(', ')}` : ''}`,
});
