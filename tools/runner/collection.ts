// One collection: kselftest/runner.sh run_many(). In the 6.12 shape every
// collection is its own TAP stream (`TAP version 13`, `1..N`), numbering
// restarts at 1; child output is `# `-prefixed, not indented.
import { join } from 'node:path';
import { strerror } from '../../lib/libc/errno.js';
import { runOne, type Outcome } from './run_one.js';
import { FileSink, type Sink } from './sink.js';

export interface CollectionRun {
  baseDir: string;
  collection: string;
  tests: readonly string[];
  timeout: number;
  overridden: boolean;
  argsFor: (test: string) => readonly string[];
  netns: boolean;
  out: Sink;
  /** The run-wide log (stdout, or output.log with -s). */
  log: Sink;
  /** -p: each test's body goes to /tmp/<test>, truncated first. */
  perTestLogDir: string | undefined;
  signal: AbortSignal;
  /** One line on the runner's stderr. */
  warn: (line: string) => void;
  /**
   * The later runner's shape: no per-collection header or plan, and numbers
   * continue from `firstNum` across collections.
   */
  ktap: boolean;
  firstNum: number;
}

export interface Tally {
  pass: number;
  skip: number;
  xfail: number;
  fail: number;
  aborted: boolean;
}

export async function runCollection(c: CollectionRun): Promise<Tally> {
  const tally: Tally = { pass: 0, skip: 0, xfail: 0, fail: 0, aborted: false };
  if (!c.ktap) {
    await c.out.write('TAP version 13\n');
    await c.out.write(`1..${c.tests.length}\n`);
  }
  for (let i = 0; i < c.tests.length; i++) {
    if (c.signal.aborted) {
      tally.aborted = true;
      break;
    }
    const name = c.tests[i]!;
    let testLog: FileSink | undefined;
    if (c.perTestLogDir !== undefined) {
      const path = join(c.perTestLogDir, name);
      try {
        testLog = new FileSink(path, 'truncate');
      } catch (e) {
        // runner.sh: the shell cannot create the log, says so on stderr, and
        // the `4>>"$logfile"` redirection fails, so the test does not run
        // and its status is the shell's 2. The run goes on.
        const err = e as NodeJS.ErrnoException;
        c.warn(`cannot create ${path}: ${typeof err.errno === 'number' ? strerror(-err.errno) : err.message}`);
        await c.out.write(`# selftests: ${c.collection}: ${name}\n`);
        await c.out.write(`not ok ${c.firstNum + i} selftests: ${c.collection}: ${name} # exit=2\n`);
        tally.fail++;
        continue;
      }
    }
    let outcome: Outcome;
    try {
      outcome = await runOne({
        baseDir: c.baseDir,
        collection: c.collection,
        name,
        num: c.firstNum + i,
        timeout: c.timeout,
        overridden: c.overridden,
        args: c.argsFor(name),
        netns: c.netns,
        ktap: c.ktap,
        out: c.out,
        log: testLog ?? c.log,
        signal: c.signal,
      });
    } finally {
      testLog?.close();
    }
    if (outcome === 'aborted') {
      tally.aborted = true;
      break;
    }
    tally[outcome]++;
  }
  return tally;
}
