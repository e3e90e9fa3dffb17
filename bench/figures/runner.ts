// Runner overhead: 50 trivial C tests (40 exit 0, 10 exit 4 = skip) in one
// collection, run by the kernel's run_kselftest.sh (6.12, from Debian's
// linux-source-6.12) and by ours, serially and with -j2; runs interleave.
//   node --import tsx bench/figures/runner.ts [runs=5]
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRunner } from '../../tools/build/build.js';
import { kernelSource } from '../../tools/peers/kernel_source.js';
import { emitRow } from '../lib/report.js';
import { ROOT, compileC, fmt, median, scratch, timeRun } from '../lib/measure.js';

const runs = Number(process.argv[2] ?? 5);
const N = 50;
const SKIPS = 10;
const dir = scratch('runner');

const src = kernelSource(join(ROOT, 'build/peers'));
if (!src.ok) {
  for (const id of ['serial', 'j2']) {
    emitRow({ id: `runner.${id}`, figure: `runner, ${N} trivial C tests${id === 'j2' ? ', -j2' : ''}`, ours: '-', anchor: 'kernel runner: unavailable', ratio: null, target: '-', met: null, note: src.reason });
  }
  process.exit(0);
}
const pass = compileC(join(dir, 'pass'), { text: 'int main(void) { return 0; }\n' });
const skip = compileC(join(dir, 'skip'), { text: 'int main(void) { return 4; }\n' });

/** An install tree: the runner's files at the top, the collection `bench` with the 50 binaries. */
function tree(name: string, top: Array<[string, string]>): string {
  const base = join(dir, name);
  mkdirSync(join(base, 'kselftest'), { recursive: true });
  mkdirSync(join(base, 'bench'));
  for (const [from, to] of top) {
    copyFileSync(from, join(base, to));
    chmodSync(join(base, to), 0o755);
  }
  const list: string[] = [];
  for (let i = 0; i < N; i++) {
    copyFileSync(i < N - SKIPS ? pass : skip, join(base, 'bench', `t${i}`));
    chmodSync(join(base, 'bench', `t${i}`), 0o755);
    list.push(`bench:t${i}\n`);
  }
  writeFileSync(join(base, 'kselftest-list.txt'), list.join(''));
  return join(base, 'run_kselftest.sh');
}

const k = src.source;
const kernel = tree('kernel', [[k.runKselftest, 'run_kselftest.sh'], [join(k.kselftestDir, 'runner.sh'), 'kselftest/runner.sh'], [join(k.kselftestDir, 'prefix.pl'), 'kselftest/prefix.pl']]);
const built = join(dir, 'build');
await buildRunner(ROOT, built);
const ours = tree('ours', [[join(built, 'kselftest/run_kselftest.sh'), 'run_kselftest.sh'], [join(built, 'kselftest/runner.cjs'), 'kselftest/runner.cjs']]);

const env = { ...process.env, NODE_OPTIONS: '' };
/**
 * One timed run, stdout through a real pipe (`| cat`): Node's pipes are
 * sockets, and the kernel's runner opens /dev/stdout again, which a socket
 * refuses. Both runners pay the same wrapper.
 */
function once(script: string, args: string[]): number {
  const r = timeRun('sh', ['-c', '"$0" "$@" </dev/null | cat', script, ...args], { env });
  const oks = (r.stdout.match(/^ok \d+ /gm) ?? []).length;
  if (oks !== N) throw new Error(`${script} ${args.join(' ')}: ${oks} of ${N} ok lines (status ${r.status}): ${r.stderr.trim().split('\n')[0] ?? ''}`);
  return r.ms;
}

// -j2 support is probed once, so a runner without it is reported, not crashed on.
const j2 = timeRun(ours, ['-j', '2', '-l'], { env }).status === 0;
const kt: number[] = [];
const os: number[] = [];
const oj: number[] = [];
for (let i = 0; i < runs; i++) {
  kt.push(once(kernel, []));
  os.push(once(ours, []));
  if (j2) oj.push(once(ours, ['-j', '2']));
}
const kms = median(kt) / N;
const sms = median(os) / N;
emitRow({
  id: 'runner.serial', figure: `runner, ${N} trivial C tests (${N - SKIPS} pass, ${SKIPS} skip), serial`,
  ours: `${fmt.ms(sms)}/test`, anchor: `kernel run_kselftest.sh ${fmt.ms(kms)}/test`, ratio: sms / kms, target: '≤ 0.25×', met: sms / kms <= 0.25,
});
if (j2) {
  const jms = median(oj) / N;
  emitRow({
    id: 'runner.j2', figure: `runner, ${N} trivial C tests, -j2`,
    ours: `${fmt.ms(jms)}/test`, anchor: `kernel run_kselftest.sh (serial) ${fmt.ms(kms)}/test`, ratio: jms / kms, target: '≤ 0.15×', met: jms / kms <= 0.15,
  });
} else {
  emitRow({ id: 'runner.j2', figure: `runner, ${N} trivial C tests, -j2`, ours: '-', anchor: `kernel ${fmt.ms(kms)}/test`, ratio: null, target: '≤ 0.15×', met: false, note: 'the runner has no -j' });
}
