// --json FILE: the run as data, for CI that reads results without scraping
// TAP. The schema is typebox (ReportSchema); `--merge` reads shard reports
// back through it. `planned` lists every test of the unsharded plan, so the
// shards of one run can be checked to cover it exactly once.
import { Type, type Static } from '@sinclair/typebox';

export const StatusSchema = Type.Union([
  Type.Literal('pass'), Type.Literal('skip'), Type.Literal('xfail'), Type.Literal('fail'), Type.Literal('timeout'), Type.Literal('flaky'),
]);

export const AttemptSchema = Type.Object({
  exit_code: Type.Union([Type.Integer(), Type.Null()]),
  timed_out: Type.Boolean(),
  duration_ms: Type.Integer({ minimum: 0 }),
  /** The last 64 KiB of the raw output (stdout and stderr merged). */
  output_tail: Type.String(),
  output_bytes: Type.Integer({ minimum: 0 }),
}, { additionalProperties: false });

export const TestReportSchema = Type.Object({
  /** `suite:test`, unique in the run: `kvm:guest_memfd_test`, `kvm[platform=snp]:guest_memfd_test`. */
  id: Type.String({ minLength: 1 }),
  suite: Type.String({ minLength: 1 }),
  collection: Type.String({ minLength: 1 }),
  test: Type.String({ minLength: 1 }),
  /** The TAP description: `selftests: kvm: guest_memfd_test`. */
  name: Type.String({ minLength: 1 }),
  cell: Type.Record(Type.String(), Type.String()),
  status: StatusSchema,
  /** The `not ok` directive (`exit=1`, `TIMEOUT 45 seconds`, `missing`), when it failed. */
  reason: Type.Optional(Type.String()),
  timeout_s: Type.Integer({ minimum: 0 }),
  duration_ms: Type.Integer({ minimum: 0 }),
  attempts: Type.Array(AttemptSchema),
}, { additionalProperties: false });

export const TotalsSchema = Type.Object({
  pass: Type.Integer({ minimum: 0 }),
  fail: Type.Integer({ minimum: 0 }),
  timeout: Type.Integer({ minimum: 0 }),
  skip: Type.Integer({ minimum: 0 }),
  xfail: Type.Integer({ minimum: 0 }),
  flaky: Type.Integer({ minimum: 0 }),
}, { additionalProperties: false });

export const ReportSchema = Type.Object({
  format: Type.Literal('ksft-coco-run-report'),
  version: Type.Literal(1),
  shard: Type.Union([Type.Object({ index: Type.Integer({ minimum: 1 }), count: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }), Type.Null()]),
  /** Every `suite:test` of the unsharded plan. */
  planned: Type.Array(Type.String()),
  /** Stopped by a signal before the end. */
  aborted: Type.Boolean(),
  started: Type.String(),
  duration_ms: Type.Integer({ minimum: 0 }),
  totals: TotalsSchema,
  tests: Type.Array(TestReportSchema),
}, { additionalProperties: false });

export type Report = Static<typeof ReportSchema>;
export type TestReport = Static<typeof TestReportSchema>;
export type Totals = Static<typeof TotalsSchema>;

export function totalsOf(tests: readonly TestReport[]): Totals {
  const t: Totals = { pass: 0, fail: 0, timeout: 0, skip: 0, xfail: 0, flaky: 0 };
  for (const x of tests) t[x.status]++;
  return t;
}

/** Not ok in the stream: the run fails on these. */
export function isFailure(status: TestReport['status']): boolean {
  return status === 'fail' || status === 'timeout';
}
