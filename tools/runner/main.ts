// run_kselftest.sh: runs the tests of kselftest-list.txt, one TAP stream per
// collection. Bundled as build/run_kselftest.sh and installed under that
// name, so CI scripts that call the kernel's runner work unchanged.
import { readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { constants } from 'node:os';
import { runCollection } from './collection.js';
import { markKmsg } from './kmsg.js';
import { groupByCollection, ListError, NoSuchError, parseList, selectEntries, type ListEntry } from './list.js';
import { OptionValueError, parseOptions, UsageError, type RunnerOptions } from './options.js';
import { effectiveTimeout, loadSettings, SettingsError } from './settings.js';
import { FileSink, StreamSink, type Sink } from './sink.js';
import { ArgsError, testArgs } from './test_args.js';
import { usage } from './usage.js';

export interface MainIo {
  argv: readonly string[];
  /** Path of the runner launcher; kselftest-list.txt sits beside it. */
  script: string;
  /** Where the collections are, relative to the launcher (default: beside it). */
  testsSubdir?: string | undefined;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

interface Plan {
  collection: string;
  tests: string[];
  timeout: number;
  args: Map<string, string[]>;
}

class Fatal extends Error {}

/** After SIGINT/SIGTERM, the longest the runner waits for its output to drain. */
const ABORT_EXIT_MS = 5000;

function readEntries(listFile: string): { entries: ListEntry[]; text: string } {
  let text: string;
  try {
    text = readFileSync(listFile, 'utf8');
  } catch {
    throw new Fatal(`Could not find list of tests to run (${listFile})`);
  }
  return { entries: parseList(text, listFile), text };
}

function plan(opts: RunnerOptions, baseDir: string, entries: readonly ListEntry[], env: NodeJS.ProcessEnv): Plan[] {
  const selected = selectEntries(entries, opts);
  return groupByCollection(selected).map(([collection, tests]) => {
    const settings = loadSettings(join(baseDir, collection, 'settings'));
    const args = new Map<string, string[]>();
    for (const t of tests) args.set(t, testArgs(t, env));
    return { collection, tests, timeout: effectiveTimeout(settings, opts.overrideTimeout), args };
  });
}

export async function main(io: MainIo): Promise<number> {
  const prog = basename(io.script);
  const err = (msg: string): void => { io.stderr.write(`${prog}: ${msg}\n`); };
  let opts: RunnerOptions;
  try {
    opts = parseOptions(io.argv);
  } catch (e) {
    if (e instanceof UsageError) {
      err(e.message);
      io.stderr.write(usage(prog));
      return 1;
    }
    if (e instanceof OptionValueError) {
      err(e.message);
      return 1;
    }
    throw e;
  }
  if (opts.help) {
    io.stdout.write(usage(prog));
    return 0;
  }

  const scriptDir = dirname(realpathSync(io.script));
  const baseDir = resolve(opts.baseDir ?? join(scriptDir, io.testsSubdir ?? '.'));
  const listFile = resolve(opts.listFile ?? join(scriptDir, 'kselftest-list.txt'));

  let plans: Plan[];
  try {
    const { entries } = readEntries(listFile);
    if (opts.list) {
      io.stdout.write(entries.map((e) => `${e.collection}:${e.test}\n`).join(''));
      return 0;
    }
    plans = plan(opts, baseDir, entries, io.env);
  } catch (e) {
    if (e instanceof NoSuchError) {
      io.stderr.write(`${e.message}\n`);
      return 1;
    }
    if (e instanceof Fatal || e instanceof ListError || e instanceof SettingsError || e instanceof ArgsError) {
      err(e.message);
      return 1;
    }
    throw e;
  }

  if (opts.dryRun) {
    // run_kselftest.sh -d echoes the commands it would run.
    for (const p of plans) io.stdout.write(`cd ${p.collection}\nrun_many ${p.tests.join(' ')}\n`);
    return 0;
  }

  const out = new StreamSink(io.stdout);
  const log: Sink = opts.summary ? new FileSink(join(baseDir, 'output.log'), 'truncate') : out;
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ac.signal.aborted) return;
    ac.abort(sig);
    // The test's group is killed at once; if our own stdout is stuck (a
    // reader that stopped reading), do not outlive the signal for long.
    setTimeout(() => process.exit(128 + constants.signals[sig]), ABORT_EXIT_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
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
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (log !== out) log.close();
  }
  return totals.fail > 0 && !opts.noErrorOnFail ? 1 : 0;
}
