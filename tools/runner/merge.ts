// --merge FILE (repeatable): the --json reports of the shards of one run
// (--shard I/N) made into one: every shard 1..N present once, every test of
// the plan reported by exactly one shard, nothing else. Prints the totals
// and every failed, timed-out and flaky test on stdout; --json and --junit
// write the merged report. Exit 1 when a test failed or the shards do not
// cover the plan exactly once.
import { readFileSync, writeFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { junitXml } from './junit.js';
import type { RunnerOptions } from './options.js';
import { ReportSchema, isFailure, totalsOf, type Report, type TestReport } from './report.js';

export class MergeError extends Error {}

function load(file: string): Report {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new MergeError(`${file}: ${(e as Error).message}`);
  }
  const first = Value.Errors(ReportSchema, value).First();
  if (first) throw new MergeError(`${file}: not a run report: ${first.path || '(root)'}: ${first.message}`);
  return value as Report;
}

export function mergeReports(files: readonly string[]): Report {
  const reports = files.map((f) => ({ f, r: load(f) }));
  const count = reports[0]!.r.shard?.count ?? 1;
  const seen = new Map<number, string>();
  for (const { f, r } of reports) {
    if ((r.shard?.count ?? 1) !== count) throw new MergeError(`${f}: shard of ${r.shard?.count ?? 1}, the others of ${count}`);
    const idx = r.shard?.index ?? 1;
    if (seen.has(idx)) throw new MergeError(`${f}: shard ${idx}/${count} already given by ${seen.get(idx)}`);
    seen.set(idx, f);
    if (JSON.stringify(r.planned) !== JSON.stringify(reports[0]!.r.planned)) throw new MergeError(`${f}: planned another list of tests than ${reports[0]!.f}`);
  }
  for (let i = 1; i <= count; i++) if (!seen.has(i)) throw new MergeError(`shard ${i}/${count} is missing`);
  const byId = new Map<string, TestReport>();
  for (const { f, r } of reports) {
    for (const t of r.tests) {
      if (byId.has(t.id)) throw new MergeError(`${f}: ${t.id} is also in another shard`);
      byId.set(t.id, t);
    }
  }
  const planned = reports[0]!.r.planned;
  const extra = [...byId.keys()].filter((id) => !planned.includes(id));
  if (extra.length > 0) throw new MergeError(`${extra[0]} is not in the plan`);
  const aborted = reports.some(({ r }) => r.aborted);
  const missing = planned.filter((id) => !byId.has(id));
  if (missing.length > 0 && !aborted) throw new MergeError(`${missing[0]} was run by no shard`);
  const tests = planned.filter((id) => byId.has(id)).map((id) => byId.get(id)!);
  return {
    format: 'ksft-coco-run-report',
    version: 1,
    shard: null,
    planned: [...planned],
    aborted,
    started: reports.map(({ r }) => r.started).sort()[0]!,
    duration_ms: Math.max(...reports.map(({ r }) => r.duration_ms)),
    totals: totalsOf(tests),
    tests,
  };
}

export function mergeMain(opts: RunnerOptions, stdout: NodeJS.WritableStream, err: (msg: string) => void): number {
  let merged: Report;
  try {
    merged = mergeReports(opts.merge);
  } catch (e) {
    if (e instanceof MergeError) {
      err(`--merge: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (opts.json !== undefined) writeFileSync(opts.json, `${JSON.stringify(merged, null, 2)}\n`);
  if (opts.junit !== undefined) writeFileSync(opts.junit, junitXml(merged));
  const t = merged.totals;
  const lines = [`# ${opts.merge.length} shard(s), ${merged.tests.length} of ${merged.planned.length} tests`,
    `# Totals: pass:${t.pass} fail:${t.fail} timeout:${t.timeout} skip:${t.skip} xfail:${t.xfail} flaky:${t.flaky}`];
  for (const x of merged.tests) {
    if (x.status === 'fail' || x.status === 'timeout') lines.push(`not ok ${x.name} # ${x.reason ?? x.status}`);
    if (x.status === 'flaky') lines.push(`# FLAKY ${x.name} (passed on attempt ${x.attempts.length})`);
  }
  stdout.write(`${lines.join('\n')}\n`);
  return merged.tests.some((x) => isFailure(x.status)) || merged.aborted ? 1 : 0;
}
