// One test, as kselftest/runner.sh run_one() prints it:
//   # timeout set to T            (log; `# overriding timeout to T` with -o)
//   # selftests: DIR: NAME
//   # <test output>               (log)
//   ok N selftests: DIR: NAME [# SKIP] | not ok N ... [# TIMEOUT T seconds | # exit=RC]
import { accessSync, constants, existsSync, openSync, readSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createNetns } from './netns.js';
import { runProcess, TIMEOUT_RC, type BodyFormat } from './process.js';
import type { Sink } from './sink.js';

export const SKIP_RC = 4;
/** KSFT_XFAIL: only the later (KTAP) runner has an arm for it. */
export const XFAIL_RC = 2;

export type Outcome = 'pass' | 'skip' | 'xfail' | 'fail' | 'aborted';

/** What the reports say about a test (report.ts): `fail` covers every other `not ok`. */
export type Status = 'pass' | 'skip' | 'xfail' | 'fail' | 'timeout' | 'flaky';

/** Kept per attempt for the reports; the log tree has the whole output. */
export const OUTPUT_TAIL_BYTES = 64 * 1024;

export interface Attempt {
  rc: number | null;
  timedOut: boolean;
  durationMs: number;
  /** The last OUTPUT_TAIL_BYTES of the raw output. */
  output: Buffer;
  /** Bytes of raw output in all. */
  bytes: number;
}

export interface OneResult {
  outcome: Outcome;
  status: Status;
  /** The `not ok` directive text (`exit=1`, `TIMEOUT 45 seconds`), or undefined. */
  why: string | undefined;
  attempts: Attempt[];
}

class Tail {
  #chunks: Buffer[] = [];
  #size = 0;
  bytes = 0;
  push(b: Buffer): void {
    this.bytes += b.length;
    this.#chunks.push(b);
    this.#size += b.length;
    while (this.#size - this.#chunks[0]!.length >= OUTPUT_TAIL_BYTES) this.#size -= this.#chunks.shift()!.length;
  }
  take(): Buffer {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(Math.max(0, all.length - OUTPUT_TAIL_BYTES));
  }
}

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
  /** Variables of a matrix cell. */
  env?: Record<string, string>;
  /** The stream's body format for this test (a fresh one per attempt). */
  format?: () => BodyFormat;
  /** --retries: how many times a failing test runs again. */
  retries?: number;
  /** Raw output of each attempt (the log tree). */
  raw?: (attempt: number, chunk: Buffer) => void;
  /** `collection[cell]` in a matrix; the collection otherwise. */
  suite?: string;
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

function result(outcome: Outcome, status: Status, why: string | undefined, attempts: Attempt[]): OneResult {
  return { outcome, status, why, attempts };
}

export async function runOne(t: TestRun): Promise<OneResult> {
  const suite = t.suite ?? t.collection;
  const hdr = `selftests: ${suite}: ${t.name}`;
  const path = join(t.baseDir, t.collection, t.name);

  let netns: ReturnType<typeof createNetns>;
  if (t.netns) {
    netns = createNetns(t.name);
    if (!netns) {
      await t.out.write(`# Warning: Create namespace failed for ${t.name}\n`);
      await t.out.write(`not ok ${t.num} ${hdr} # Create NS failed\n`);
      return result('fail', 'fail', 'Create NS failed', []);
    }
  }
  try {
    await t.log.write(t.overridden ? `# overriding timeout to ${t.timeout}\n` : `# timeout set to ${t.timeout}\n`);
    await t.out.write(`# ${hdr}\n`);
    if (!existsSync(path)) {
      await t.out.write(`# Warning: file ${t.name} is missing!\n`);
      await t.out.write(`not ok ${t.num} ${hdr}\n`);
      return result('fail', 'fail', 'missing', []);
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
        return result('fail', 'fail', 'not executable', []);
      }
      // runner.sh runs `$interpreter ./NAME` here, without the test's arguments.
      cmd = [...interp, `./${t.name}`];
    }
    cmd = lineBuffered(cmd);
    if (netns) cmd = [...netns.exec, ...cmd];

    const attempts: Attempt[] = [];
    const failed = (rc: number): boolean => rc !== 0 && rc !== SKIP_RC && !(t.ktap && rc === XFAIL_RC);
    let rc = 0;
    for (let n = 0; ; n++) {
      const tail = new Tail();
      const t0 = Date.now();
      const r = await runProcess({
        file: cmd[0]!,
        args: cmd.slice(1),
        cwd: dirname(path),
        timeoutSec: t.timeout,
        body: t.log,
        signal: t.signal,
        env: t.env,
        format: t.format?.(),
        raw: (chunk) => {
          tail.push(chunk);
          t.raw?.(n, chunk);
        },
      });
      if (r.aborted) return result('aborted', 'fail', undefined, attempts);
      rc = r.rc;
      attempts.push({ rc: r.rc, timedOut: r.rc === TIMEOUT_RC, durationMs: Date.now() - t0, output: tail.take(), bytes: tail.bytes });
      if (!failed(rc) || n >= (t.retries ?? 0)) break;
      // Opt-in only (--retries): the stream then shows every attempt.
      await t.log.write(`# retrying ${suite}:${t.name} (${n + 1} of ${t.retries}) after ${rc === TIMEOUT_RC ? `TIMEOUT ${t.timeout} seconds` : `exit=${rc}`}\n`);
    }
    const flaky = attempts.length > 1 && !failed(rc);
    const flakyNote = ` # FLAKY passed on attempt ${attempts.length} of ${(t.retries ?? 0) + 1}`;
    if (rc === 0) {
      await t.out.write(`ok ${t.num} ${hdr}${flaky ? flakyNote : ''}\n`);
      return result('pass', flaky ? 'flaky' : 'pass', undefined, attempts);
    }
    if (rc === SKIP_RC) {
      await t.out.write(`ok ${t.num} ${hdr} # SKIP\n`);
      return result('skip', 'skip', undefined, attempts);
    }
    if (t.ktap && rc === XFAIL_RC) {
      await t.out.write(`ok ${t.num} ${hdr} # XFAIL\n`);
      return result('xfail', flaky ? 'flaky' : 'xfail', undefined, attempts);
    }
    if (rc === TIMEOUT_RC) {
      if (!t.ktap) await t.out.write('#\n');
      await t.out.write(`not ok ${t.num} ${hdr} # TIMEOUT ${t.timeout} seconds\n`);
      return result('fail', 'timeout', `TIMEOUT ${t.timeout} seconds`, attempts);
    }
    await t.out.write(`not ok ${t.num} ${hdr} # exit=${rc}\n`);
    return result('fail', 'fail', `exit=${rc}`, attempts);
  } finally {
    netns?.remove();
  }
}
