// The run: the plan's jobs, up to -j at a time (schedule.ts), printed in
// plan order (job_output.ts) so the stream is the serial run's; the exit
// status; the side outputs (--output, --json, --junit, the TTY summary);
// and what SIGINT/SIGTERM/SIGHUP do (kill the running tests and everything
// they started, end the stream with a bail-out line, exit 128+signal).
// SIGHUP is what a CI job or an ssh session that goes away sends; left to
// its default action it would end the runner on the spot, with tests left
// running and the stream cut mid-line.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:os';
import { strerror } from '../../lib/libc/errno.js';
import { JobOutput } from './job_output.js';
import { junitXml } from './junit.js';
import { markKmsg } from './kmsg.js';
import { TestLogDir } from './log_tree.js';
import { NestingFormat } from './nest.js';
import type { RunnerOptions } from './options.js';
import { jobName, type Job, type Suite } from './plan.js';
import { Progress } from './progress.js';
import { isFailure, totalsOf, type Report, type TestReport } from './report.js';
import { runOne, type OneResult } from './run_one.js';
import { schedule } from './schedule.js';
import { FileSink, StreamSink, type Sink } from './sink.js';

export interface RunAll {
  opts: RunnerOptions;
  baseDir: string;
  suites: readonly Suite[];
  planned: readonly string[];
  prog: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** After a stop signal, the longest the runner waits for its output to drain. */
const ABORT_EXIT_MS = 5000;

interface Done {
  result: OneResult;
  durationMs: number;
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

export async function runAll({ opts, baseDir, suites, planned, prog, stdout, stderr }: RunAll): Promise<number> {
  const t0 = Date.now();
  const started = new Date(t0).toISOString();
  const out = new StreamSink(stdout);
  const log: Sink = opts.summary && !opts.perTestLog ? new FileSink(join(baseDir, 'output.log'), 'truncate') : out;
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ac.signal.aborted) return;
    ac.abort(sig);
    // The tests are killed at once; if our own stdout is stuck (a reader
    // that stopped reading), do not outlive the signal for long.
    setTimeout(() => process.exit(128 + constants.signals[sig]), ABORT_EXIT_MS).unref();
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  const warn = (line: string): void => { stderr.write(`${prog}: ${line}\n`); };

  const singleStream = opts.ktap || opts.format !== 'tap13';
  const jobs: Job[] = suites.flatMap((s) => s.jobs);
  const outputs = jobs.map(() => new JobOutput(out, log));
  const done = jobs.map(() => deferred<Done | undefined>());
  const reports: TestReport[] = [];
  const progress = new Progress(stderr, jobs.length, opts.progress);
  const perTestDir = opts.perTestLog ? (opts.perTestLogDir ?? '/tmp') : undefined;

  const runJob = async (job: Job, i: number): Promise<void> => {
    const o = outputs[i]!;
    const first = job.suite.jobs[0] === job;
    if (first && !singleStream) {
      await o.out.write('TAP version 13\n');
      await o.out.write(`1..${job.suite.jobs.length}\n`);
    }
    if (first) markKmsg(job.suite.name);
    progress.start(jobName(job));
    const hdr = `selftests: ${job.suite.name}: ${job.test}`;
    let testLog: FileSink | undefined;
    if (perTestDir !== undefined) {
      const path = join(perTestDir, job.test);
      try {
        testLog = new FileSink(path, 'truncate');
      } catch (e) {
        // runner.sh: the shell cannot create the log, says so on stderr, and
        // the `4>>"$logfile"` redirection fails, so the test does not run
        // and its status is the shell's 2. The run goes on.
        const err = e as NodeJS.ErrnoException;
        warn(`cannot create ${path}: ${typeof err.errno === 'number' ? strerror(-err.errno) : err.message}`);
        await o.out.write(`# ${hdr}\n`);
        await o.out.write(`not ok ${job.num} ${hdr} # exit=2\n`);
        done[i]!.resolve({ result: { outcome: 'fail', status: 'fail', why: 'exit=2', attempts: [] }, durationMs: 0 });
        return;
      }
    }
    const tree = opts.output !== undefined ? new TestLogDir(opts.output, job.suite.name, job.test) : undefined;
    const start = Date.now();
    try {
      const result = await runOne({
        baseDir,
        collection: job.collection,
        suite: job.suite.name,
        name: job.test,
        num: job.num,
        timeout: job.timeout,
        overridden: opts.overrideTimeout !== undefined,
        args: job.args,
        env: job.env,
        netns: opts.netns,
        ktap: singleStream,
        out: o.out,
        log: testLog ?? o.log,
        signal: ac.signal,
        retries: opts.retries,
        format: opts.format === 'tap13' ? undefined : () => new NestingFormat(opts.format === 'ktap' ? 2 : 4, opts.format === 'tap14' ? hdr : undefined),
        raw: tree ? (n, chunk) => tree.write(n, chunk) : undefined,
      });
      const durationMs = Date.now() - start;
      if (result.outcome !== 'aborted') tree?.finish(result.status, result.why, durationMs, result.attempts.length);
      done[i]!.resolve({ result, durationMs });
    } finally {
      testLog?.close();
      progress.end(jobName(job));
    }
  };

  const header = singleStream
    ? (opts.format === 'ktap' ? 'KTAP version 1\n' : opts.format === 'tap14' ? 'TAP version 14\n' : 'TAP version 13\n') + `1..${jobs.length}\n`
    : '';
  let aborted = false;
  try {
    if (header) await out.write(header);
    const scheduled = schedule(jobs, opts.jobs, runJob, ac.signal).then(() => {
      // A stop leaves later tests unstarted: nothing will come for them.
      for (const d of done) d.resolve(undefined);
    });
    for (let i = 0; i < jobs.length; i++) {
      if (ac.signal.aborted) break;
      await outputs[i]!.goLive();
      const d = await done[i]!.promise;
      if (!d || d.result.outcome === 'aborted') break;
      const job = jobs[i]!;
      const r = d.result;
      progress.finished(r.status);
      reports.push({
        id: jobName(job),
        suite: job.suite.name,
        collection: job.collection,
        test: job.test,
        name: `selftests: ${job.suite.name}: ${job.test}`,
        cell: job.suite.cell?.env ?? {},
        status: r.status,
        ...(r.why !== undefined && isFailure(r.status) ? { reason: r.why } : {}),
        timeout_s: job.timeout,
        duration_ms: d.durationMs,
        attempts: r.attempts.map((a) => ({
          exit_code: a.rc, timed_out: a.timedOut, duration_ms: a.durationMs, output_tail: a.output.toString('utf8'), output_bytes: a.bytes,
        })),
      });
    }
    aborted = ac.signal.aborted || reports.length < jobs.length;
    if (aborted) {
      if (!ac.signal.aborted) ac.abort('SIGTERM');
      for (const o of outputs) o.discard();
    }
    await scheduled;
    if (aborted) {
      const sig = (typeof ac.signal.reason === 'string' ? ac.signal.reason : 'SIGTERM') as NodeJS.Signals;
      // Close the stream explicitly; the tests that were running have no result.
      await out.write(`Bail out! ${prog} stopped by ${sig}\n`);
    } else if (singleStream) {
      const t = totalsOf(reports);
      await out.write(`# Totals: pass:${t.pass + t.flaky} fail:${t.fail + t.timeout} xfail:${t.xfail} xpass:0 skip:${t.skip} error:0\n`);
    }
  } finally {
    if (log !== out) log.close();
    const report: Report = {
      format: 'ksft-coco-run-report',
      version: 1,
      shard: opts.shard ? { index: Number(opts.shard.split('/')[0]), count: Number(opts.shard.split('/')[1]) } : null,
      planned: [...planned],
      aborted,
      started,
      duration_ms: Date.now() - t0,
      totals: totalsOf(reports),
      tests: reports,
    };
    if (opts.json !== undefined) writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
    if (opts.junit !== undefined) writeFileSync(opts.junit, junitXml(report));
    progress.close(reports);
  }
  // The handlers stay until exit: a late signal is then ignored instead of
  // killing the runner halfway through its last write.
  if (aborted) return 128 + constants.signals[(typeof ac.signal.reason === 'string' ? ac.signal.reason : 'SIGTERM') as NodeJS.Signals];
  return reports.some((r) => isFailure(r.status)) && !opts.noErrorOnFail ? 1 : 0;
}
