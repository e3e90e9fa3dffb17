// run_kselftest.sh: options, the test list, settings and per-test arguments
// are all checked before the first TAP line; then run_all.ts runs the plan.
// Bundled as kselftest/runner.cjs behind the run_kselftest.sh launcher, so CI
// scripts that call the kernel's runner by name work unchanged.
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ListError, NoSuchError, parseList, selectEntries, type ListEntry } from './list.js';
import { matrixCells, MatrixError } from './matrix.js';
import { mergeMain } from './merge.js';
import { buildPlan, type PlanResult } from './plan.js';
import { OptionValueError, parseOptions, UsageError, type RunnerOptions } from './options.js';
import { FileTooLargeError, readBounded } from './read_bounded.js';
import { SettingsError } from './settings.js';
import { runAll } from './run_all.js';
import { ArgsError } from './test_args.js';
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

class Fatal extends Error {}

/** A list of thousands of tests is a few hundred kB. */
const LIST_MAX_BYTES = 16 * 1024 * 1024;

function readEntries(listFile: string): { entries: ListEntry[]; text: string } {
  let text: string;
  try {
    text = readBounded(listFile, LIST_MAX_BYTES);
  } catch (e) {
    if (e instanceof FileTooLargeError) throw new Fatal(e.message);
    throw new Fatal(`Could not find list of tests to run (${listFile})`);
  }
  return { entries: parseList(text, listFile), text };
}

function plan(opts: RunnerOptions, baseDir: string, entries: readonly ListEntry[], env: NodeJS.ProcessEnv): PlanResult {
  const shard = opts.shard?.split('/').map(Number);
  return buildPlan({
    baseDir,
    entries: selectEntries(entries, opts),
    env,
    overrideTimeout: opts.overrideTimeout,
    cells: matrixCells(opts.matrix),
    shard: shard ? { index: shard[0]!, count: shard[1]! } : undefined,
    singleStream: opts.ktap || opts.format !== 'tap13',
  });
}

/** -p DIR, as the later run_kselftest.sh checks it. */
function prepareLogDir(dir: string): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    try {
      mkdirSync(dir, { recursive: true });
      return;
    } catch {
      throw new Fatal(`Could not create log dir: ${dir}`);
    }
  }
  if (!isDir) throw new Fatal(`Per-test log path is not a dir: ${dir}`);
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
  if (opts.merge.length > 0) return mergeMain(opts, io.stdout, err);

  const scriptDir = dirname(realpathSync(io.script));
  const baseDir = resolve(opts.baseDir ?? join(scriptDir, io.testsSubdir ?? '.'));
  const listFile = resolve(opts.listFile ?? join(scriptDir, 'kselftest-list.txt'));

  let plans: PlanResult;
  try {
    const { entries } = readEntries(listFile);
    if (opts.list) {
      io.stdout.write(entries.map((e) => `${e.collection}:${e.test}\n`).join(''));
      return 0;
    }
    plans = plan(opts, baseDir, entries, io.env);
    if (opts.perTestLogDir !== undefined) prepareLogDir(opts.perTestLogDir);
  } catch (e) {
    if (e instanceof NoSuchError) {
      io.stderr.write(`${e.message}\n`);
      return 1;
    }
    if (e instanceof Fatal || e instanceof ListError || e instanceof SettingsError || e instanceof ArgsError || e instanceof MatrixError) {
      err(e.message);
      return 1;
    }
    throw e;
  }

  if (opts.dryRun) {
    // run_kselftest.sh -d echoes the commands it would run.
    for (const s of plans.suites) io.stdout.write(`cd ${s.collection}\nrun_many ${s.jobs.map((j) => j.test).join(' ')}\n`);
    return 0;
  }

  return runAll({ opts, baseDir, suites: plans.suites, planned: plans.planned, prog, stdout: io.stdout, stderr: io.stderr });
}
