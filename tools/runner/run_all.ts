// The run: every planned collection in turn, the exit status, and what
// SIGINT/SIGTERM/SIGHUP do (kill the running test and everything it started,
// end the stream with a bail-out line, exit 128+signal). SIGHUP is what a
// CI job or an ssh session that goes away sends; left to its default
// action it would end the runner on the spot, with tests left running and
// the stream cut mid-line.
import { join } from 'node:path';
import { constants } from 'node:os';
import { runCollection } from './collection.js';
import { markKmsg } from './kmsg.js';
import type { RunnerOptions } from './options.js';
import { FileSink, StreamSink, type Sink } from './sink.js';

export interface Plan {
  collection: string;
  tests: string[];
  timeout: number;
  args: Map<string, string[]>;
}

export interface RunAll {
  opts: RunnerOptions;
  baseDir: string;
  plans: readonly Plan[];
  prog: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** After a stop signal, the longest the runner waits for its output to drain. */
const ABORT_EXIT_MS = 5000;

export async function runAll({ opts, baseDir, plans, prog, stdout, stderr }: RunAll): Promise<number> {
  const out = new StreamSink(stdout);
  const log: Sink = opts.summary ? new FileSink(join(baseDir, 'output.log'), 'truncate') : out;
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ac.signal.aborted) return;
    ac.abort(sig);
    // The test's group is killed at once; if our own stdout is stuck (a
    // reader that stopped reading), do not outlive the signal for long.
    setTimeout(() => process.exit(128 + constants.signals[sig]), ABORT_EXIT_MS).unref();
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  const totals = { pass: 0, fail: 0, xfail: 0, skip: 0 };
  let num = 1;
  try {
    if (opts.ktap) {
      // The later run_kselftest.sh: ktap_print_header and one plan for the run.
      await out.write('TAP version 13\n');
      await out.write(`1..${plans.reduce((n, p) => n + p.tests.length, 0)}\n`);
    }
    for (const p of plans) {
      if (ac.signal.aborted) break;
      markKmsg(p.collection);
      const tally = await runCollection({
        baseDir,
        collection: p.collection,
        tests: p.tests,
        timeout: p.timeout,
        overridden: opts.overrideTimeout !== undefined,
        argsFor: (t) => p.args.get(t) ?? [],
        netns: opts.netns,
        out,
        log,
        perTestLogDir: opts.perTestLog ? '/tmp' : undefined,
        signal: ac.signal,
        warn: (line) => { stderr.write(`${prog}: ${line}\n`); },
        ktap: opts.ktap,
        firstNum: opts.ktap ? num : 1,
      });
      num += p.tests.length;
      totals.pass += tally.pass;
      totals.fail += tally.fail;
      totals.xfail += tally.xfail;
      totals.skip += tally.skip;
      if (tally.aborted) break;
    }
    if (ac.signal.aborted) {
      const sig = ac.signal.reason as NodeJS.Signals;
      // Close the stream explicitly; the test that was running has no result.
      await out.write(`Bail out! ${prog} stopped by ${sig}\n`);
      return 128 + constants.signals[sig];
    }
    if (opts.ktap) {
      await out.write(`# Totals: pass:${totals.pass} fail:${totals.fail} xfail:${totals.xfail} xpass:0 skip:${totals.skip} error:0\n`);
    }
  } finally {
    if (log !== out) log.close();
  }
  // The handlers stay until exit: a late signal is then ignored instead of
  // killing the runner halfway through its last write.
  return totals.fail > 0 && !opts.noErrorOnFail ? 1 : 0;
}
