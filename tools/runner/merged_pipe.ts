// One pipe for both stdout and stderr of a test, like the runner's `2>&1 |
// prefix.pl`: the bytes arrive in the order the test wrote them, whichever
// descriptor it used. Node cannot create an anonymous pipe, so a FIFO is made
// in a private directory, opened at both ends and unlinked at once; the
// child gets the write end as fd 1 and fd 2. mkfifo is a program to Node,
// and a fork per test was 40% of the runner's own CPU: FIFOs are made
// FIFO_BATCH at a time, each still used for one test only.
import { spawnSync } from 'node:child_process';
import { constants, mkdtempSync, openSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string | undefined;
let seq = 0;
const FIFO_BATCH = 64;
const ready: string[] = [];

export interface MergedPipe {
  readFd: number;
  writeFd: number;
}

export function openMergedPipe(): MergedPipe {
  if (dir === undefined) {
    dir = mkdtempSync(join(tmpdir(), 'ksft-runner-'));
    process.once('exit', removePipeDir);
  }
  if (ready.length === 0) {
    const batch = Array.from({ length: FIFO_BATCH }, () => join(dir!, `pipe${seq++}`));
    const r = spawnSync('mkfifo', ['-m', '600', ...batch], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.error || r.status !== 0) {
      const why = r.error?.message ?? r.stderr.toString().trim();
      throw new Error(`cannot create a pipe for the test output: mkfifo ${batch[0]}...: ${why}`);
    }
    ready.push(...batch);
  }
  const path = ready.shift()!;
  // The read end is opened non-blocking (no writer yet); the write end then
  // opens at once because a reader exists.
  const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(path, constants.O_WRONLY);
  unlinkSync(path);
  return { readFd, writeFd };
}

export function removePipeDir(): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  ready.length = 0;
}
