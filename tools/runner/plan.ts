// The run as a list of jobs in plan order: collections sorted, each one a
// suite (one TAP stream in the 6.12 shape), or one suite per matrix cell;
// tests in list order. --shard I/N keeps every N-th job from the I-th on,
// counted over the whole plan, so N shards cover it exactly once.
import { join } from 'node:path';
import type { ListEntry } from './list.js';
import { groupByCollection } from './list.js';
import type { Cell } from './matrix.js';
import { effectiveTimeout, loadSettings, testConstraints } from './settings.js';
import { testArgs } from './test_args.js';

export interface Suite {
  /** `kvm`, or `kvm[platform=snp]` in a matrix. */
  name: string;
  collection: string;
  cell: Cell | undefined;
  jobs: Job[];
}

export interface Job {
  /** Position in the whole (unsharded) plan. */
  id: number;
  suite: Suite;
  collection: string;
  test: string;
  /** TAP number inside its stream. */
  num: number;
  timeout: number;
  args: string[];
  env: Record<string, string>;
  serial: boolean;
  resources: string[];
}

export interface PlanInput {
  baseDir: string;
  entries: readonly ListEntry[];
  env: NodeJS.ProcessEnv;
  overrideTimeout: number | undefined;
  cells: readonly Cell[];
  shard: { index: number; count: number } | undefined;
  /** One stream for the run (numbers go on across suites). */
  singleStream: boolean;
}

export interface PlanResult {
  suites: Suite[];
  /** Every job of the unsharded plan, by `suite:test` name: what shards must cover together. */
  planned: string[];
}

export function jobName(j: { suite: { name: string }; test: string }): string {
  return `${j.suite.name}:${j.test}`;
}

export function buildPlan(p: PlanInput): PlanResult {
  const all: Job[] = [];
  const suites: Suite[] = [];
  for (const [collection, tests] of groupByCollection(p.entries)) {
    const settings = loadSettings(join(p.baseDir, collection, 'settings'));
    for (const cell of p.cells.length > 0 ? p.cells : [undefined]) {
      const suite: Suite = { name: cell ? `${collection}[${cell.label}]` : collection, collection, cell, jobs: [] };
      suites.push(suite);
      for (const test of tests) {
        const env = { ...p.env, ...cell?.env };
        all.push({
          id: all.length, suite, collection, test, num: 0,
          timeout: effectiveTimeout(settings, p.overrideTimeout, test),
          args: testArgs(test, env),
          env: cell?.env ?? {},
          ...testConstraints(settings, test),
        });
      }
    }
  }
  const planned = all.map(jobName);
  const kept = p.shard ? all.filter((j) => j.id % p.shard!.count === p.shard!.index - 1) : all;
  let num = 1;
  for (const j of kept) {
    j.suite.jobs.push(j);
    j.num = p.singleStream ? num++ : j.suite.jobs.length;
  }
  return { suites: suites.filter((s) => s.jobs.length > 0), planned };
}
