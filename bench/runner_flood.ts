// Throughput and peak memory of the runner under an output flood.
//   node --import tsx bench/runner_flood.ts [MB=200] [runs=3]
// A shell test writes MB megabytes of 72-byte lines; the runner prefixes
// every line and writes to a pipe drained by this process. Prints MB/s of
// test output and the runner's VmHWM (peak RSS) for each run.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRunner } from '../tools/build/build.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const mb = Number(process.argv[2] ?? 200);
const runs = Number(process.argv[3] ?? 3);

const dir = mkdtempSync(join(tmpdir(), 'ksft-bench-'));
const runner = await buildRunner(root, join(dir, 'build'));
mkdirSync(join(dir, 'tree/bench'), { recursive: true });
const test = join(dir, 'tree/bench/flood_test');
writeFileSync(test, readFileSync(join(root, 'test/tools/fixtures/runner/flood.sh')));
chmodSync(test, 0o755);
writeFileSync(join(dir, 'tree/kselftest-list.txt'), 'bench:flood_test\n');

function hwm(pid: number): number {
  try {
    return Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

for (let i = 0; i < runs; i++) {
  // The list sits in the tree, not beside the bundled runner: name it, or
  // the runner stops at once (no list) and the figure measures nothing.
  const child = spawn(runner, ['--base-dir', join(dir, 'tree'), '--list-file', join(dir, 'tree/kselftest-list.txt')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '', KSFT_FLOOD_BYTES: String(mb * 1_000_000) },
  });
  let peak = 0;
  const poll = setInterval(() => { peak = Math.max(peak, hwm(child.pid!)); }, 10);
  let bytes = 0;
  child.stdout.on('data', (d: Buffer) => { bytes += d.length; });
  const t0 = process.hrtime.bigint();
  const code = await new Promise((res) => child.on('close', res));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(poll);
  if (code !== 0 || bytes < mb * 1_000_000) throw new Error(`run ${i + 1}: runner exited ${code} after ${bytes} bytes of TAP: not a measurement`);
  console.log(`run ${i + 1}: exit ${code}, ${mb} MB of test output (${(bytes / 1e6).toFixed(1)} MB TAP) in ${s.toFixed(2)} s = ${(mb / s).toFixed(0)} MB/s, runner VmHWM ${(peak / 1024).toFixed(0)} MB`);
}
