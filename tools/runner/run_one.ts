// One test, as kselftest/runner.sh run_one() prints it:
//   # timeout set to T            (log; `# overriding timeout to T` with -o)
//   # selftests: DIR: NAME
//   # <test output>               (log)
//   ok N selftests: DIR: NAME [# SKIP] | not ok N ... [# TIMEOUT T seconds | # exit=RC]
import { accessSync, constants, existsSync, openSync, readSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createNetns } from './netns.js';
import { runProcess, TIMEOUT_RC } from './process.js';
import type { Sink } from './sink.js';

export const SKIP_RC = 4;
/** KSFT_XFAIL: only the later (KTAP) runner has an arm for it. */
export const XFAIL_RC = 2;

export type Outcome = 'pass' | 'skip' | 'xfail' | 'fail' | 'aborted';

export interface TestRun {
  baseDir: string;
  collection: string;
  name: string;
  num: number;
  timeout: number;
  overridden: boolean;
  args: readonly string[];
  netns: boolean;
  /** The later runner's result arms (XFAIL, no bare `#` before TIMEOUT). */
  ktap: boolean;
  /** Result lines. */
  out: Sink;
  /** Test body and the timeout line. */
  log: Sink;
  signal: AbortSignal;
}

/**
 * runner.sh starts every test through `stdbuf --output=L` when
 * /usr/bin/stdbuf exists, so a C test's stdout is line-buffered on the pipe
 * and its lines keep their order with stderr (`printf` then `fprintf(stderr)`
 * shows in that order, not stderr first). stdbuf execs the command, so the
 * pid, the process group and exec failures (its own message, 127 or 126)
 * are as in the kernel.
 */
const STDBUF = '/usr/bin/stdbuf';

function lineBuffered(cmd: string[]): string[] {
  return isExecutable(STDBUF) ? [STDBUF, '--output=L', ...cmd] : cmd;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The `#!` line of a file without execute permission, split on whitespace. */
function interpreterOf(path: string): string[] | undefined {
  const buf = Buffer.alloc(4096);
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, buf, 0, buf.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const head = buf.subarray(0, n).toString('utf8');
  if (!head.startsWith('#!')) return undefined;
  const words = head.slice(2).split('\n')[0]!.trim().split(/\s+/).filter((w) => w !== '');
  return words.length > 0 ? words : undefined;
}

export async function runOne(t: TestRun): Promise<Outcome> {
  const hdr = `selftests: ${t.collection}: ${t.name}`;
  const path = join(t.baseDir, t.collection, t.name);

  let netns: ReturnType<typeof createNetns>;
  if (t.netns) {
    netns = createNetns(t.name);
    if (!netns) {
      await t.out.write(`# Warning: Create namespace failed for ${t.name}\n`);
      await t.out.write(`not ok ${t.num} ${hdr} # Create NS failed\n`);
      return 'fail';
    }
  }
  try {
    await t.log.write(t.overridden ? `# overriding timeout to ${t.timeout}\n` : `# timeout set to ${t.timeout}\n`);
    await t.out.write(`# ${hdr}\n`);
    if (!existsSync(path)) {
      await t.out.write(`# Warning: file ${t.name} is missing!\n`);
      await t.out.write(`not ok ${t.num} ${hdr}\n`);
      return 'fail';
    }

    let cmd: string[];
    if (isExecutable(path)) {
      cmd = [`./${t.name}`, ...t.args];
    } else if (isExecutable(join(dirname(path), 'ksft_runner.sh'))) {
      // A collection can ship its own interpreter for data-file tests
      // (net/packetdrill): runner.sh then runs `./ksft_runner.sh ./NAME`.
      cmd = ['./ksft_runner.sh', `./${t.name}`];
    } else {
      await t.out.write(`# Warning: file ${t.name} is not executable\n`);
      const interp = interpreterOf(path);
      if (!interp) {
        await t.out.write(`not ok ${t.num} ${hdr}\n`);
        return 'fail';
      }
      // runner.sh runs `$interpreter ./NAME` here, without the test's arguments.
      cmd = [...interp, `./${t.name}`];
    }
    cmd = lineBuffered(cmd);
    if (netns) cmd = [...netns.exec, ...cmd];

    const r = await runProcess({
      file: cmd[0]!,
      args: cmd.slice(1),
      cwd: dirname(path),
      timeoutSec: t.timeout,
      body: t.log,
      signal: t.signal,
    });
    if (r.aborted) return 'aborted';
    if (r.rc === 0) {
      await t.out.write(`ok ${t.num} ${hdr}\n`);
      return 'pass';
    }
    if (r.rc === SKIP_RC) {
      await t.out.write(`ok ${t.num} ${hdr} # SKIP\n`);
      return 'skip';
    }
    if (t.ktap && r.rc === XFAIL_RC) {
      await t.out.write(`ok ${t.num} ${hdr} # XFAIL\n`);
      return 'xfail';
    }
    if (r.rc === TIMEOUT_RC) {
      if (!t.ktap) await t.out.write('#\n');
      await t.out.write(`not ok ${t.num} ${hdr} # TIMEOUT ${t.timeout} seconds\n`);
      return 'fail';
    }
    await t.out.write(`not ok ${t.num} ${hdr} # exit=${r.rc}\n`);
    return 'fail';
  } finally {
    netns?.remove();
  }
}
