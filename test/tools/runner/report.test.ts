// The side outputs: --json (validated against its typebox schema), --junit
// (read with xml2js, the parser dorny/test-reporter reads JUnit with),
// --output's tree, --shard with --merge, --retries, --format, -m, --progress.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import t from 'tap';
import { parseStringPromise } from 'xml2js';
import { ReportSchema, type Report } from '../../../tools/runner/report.js';
import { makeTree, parseTap, runRunner, tmpDir } from './helpers.js';

const tree = () => makeTree({
  collections: {
    alpha: { pass_t: { fixture: 'pass.sh' }, skip_t: { fixture: 'skip.sh' }, fail_t: { fixture: 'fail.sh' } },
    beta: { hang_t: { fixture: 'hang.sh' }, tap_t: { fixture: 'tap_child.sh' }, ctl: { fixture: 'bytes_ctl.sh' } },
  },
});

function readReport(file: string): Report {
  const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const e = Value.Errors(ReportSchema, v).First();
  if (e) throw new Error(`${file}: ${e.path}: ${e.message}`);
  return v as Report;
}

t.test('--json validates and says what the stream says; --junit parses as CI reporters parse it; --output tree', async (t) => {
  const tr = tree();
  const d = tmpDir('ksft-reports-');
  const env = { KSFT_FIXTURE_PIDS: join(d, 'pids') };
  const r = await runRunner(tr, ['-o', '1', '--json', join(d, 'r.json'), '--junit', join(d, 'r.xml'), '--output', join(d, 'tree')], { env });
  const plain = await runRunner(tr, ['-o', '1'], { env });
  t.equal(r.stdout, plain.stdout, 'side outputs leave stdout alone');
  const rep = readReport(join(d, 'r.json'));
  t.same(rep.tests.map((x) => [x.id, x.status, x.reason ?? '']), [
    ['alpha:pass_t', 'pass', ''], ['alpha:skip_t', 'skip', ''], ['alpha:fail_t', 'fail', 'exit=1'],
    ['beta:hang_t', 'timeout', 'TIMEOUT 1 seconds'], ['beta:tap_t', 'pass', ''], ['beta:ctl', 'pass', ''],
  ]);
  t.same(rep.totals, { pass: 3, fail: 1, timeout: 1, skip: 1, xfail: 0, flaky: 0 });
  t.equal(rep.tests[0]!.attempts[0]!.output_tail, 'pass: stdout line\npass: stderr line\n');
  const x = await parseStringPromise(readFileSync(join(d, 'r.xml'), 'utf8'));
  t.same(x.testsuites.$, { name: 'kselftest', tests: '6', failures: '2', errors: '0', skipped: '1', time: x.testsuites.$.time });
  const suites = x.testsuites.testsuite as Array<{ $: Record<string, string>; testcase: Array<{ $: Record<string, string>; failure?: Array<{ $: Record<string, string> }>; skipped?: unknown[] }> }>;
  t.same(suites.map((s) => [s.$.name, s.$.tests, s.$.failures, s.$.skipped]), [['alpha', '3', '1', '1'], ['beta', '3', '1', '0']]);
  const cases = suites.flatMap((s) => s.testcase);
  t.same(cases.map((c) => c.$.name), ['pass_t', 'skip_t', 'fail_t', 'hang_t', 'tap_t', 'ctl']);
  t.equal(cases[2]!.failure![0]!.$.message, 'exit=1');
  t.equal(cases[3]!.failure![0]!.$.type, 'timeout');
  t.ok(cases[1]!.skipped, 'skip');
  t.equal(readFileSync(join(d, 'tree/alpha/fail_t/status'), 'utf8'), 'fail exit=1\n');
  t.equal(readFileSync(join(d, 'tree/alpha/pass_t/output'), 'utf8'), 'pass: stdout line\npass: stderr line\n');
  t.match(readFileSync(join(d, 'tree/beta/hang_t/duration'), 'utf8'), /^1\.\d{3}\n$/);
  t.equal(readFileSync(join(d, 'tree/beta/hang_t/status'), 'utf8'), 'timeout TIMEOUT 1 seconds\n');
});

t.test('--shard I/N: the shards cover the plan exactly once; --merge checks it and sums up', async (t) => {
  const tr = tree();
  const d = tmpDir('ksft-shards-');
  const env = { KSFT_FIXTURE_PIDS: join(d, 'pids') };
  const full = await runRunner(tr, ['-o', '1', '--json', join(d, 'full.json')], { env });
  const names: string[] = [];
  for (const i of [1, 2, 3]) {
    const s = await runRunner(tr, ['-o', '1', '--shard', `${i}/3`, '--json', join(d, `s${i}.json`)], { env });
    names.push(...readReport(join(d, `s${i}.json`)).tests.map((x) => x.id));
    t.ok(s.stdout.startsWith('TAP version 13\n'), `shard ${i} is valid TAP`);
  }
  const all = readReport(join(d, 'full.json'));
  t.same([...names].sort(), all.planned.slice().sort(), 'every test once, no test twice');
  t.equal(new Set(names).size, names.length);
  const m = await runRunner(undefined, ['--merge', join(d, 's1.json'), '--merge', join(d, 's2.json'), '--merge', join(d, 's3.json'), '--json', join(d, 'm.json'), '--junit', join(d, 'm.xml')]);
  t.equal(m.code, 1, 'a test failed');
  t.match(m.stdout, /^# 3 shard\(s\), 6 of 6 tests\n# Totals: pass:3 fail:1 timeout:1 skip:1 xfail:0 flaky:0\nnot ok selftests: alpha: fail_t # exit=1\nnot ok selftests: beta: hang_t # TIMEOUT 1 seconds\n$/);
  const merged = readReport(join(d, 'm.json'));
  t.same(merged.tests.map((x) => [x.id, x.status]), all.tests.map((x) => [x.id, x.status]), 'merged = the unsharded run');
  await parseStringPromise(readFileSync(join(d, 'm.xml'), 'utf8'));
  const missing = await runRunner(undefined, ['--merge', join(d, 's1.json'), '--merge', join(d, 's3.json')]);
  t.equal(missing.stderr, 'run_kselftest.sh: --merge: shard 2/3 is missing\n');
  const twice = await runRunner(undefined, ['--merge', join(d, 's1.json'), '--merge', join(d, 's1.json'), '--merge', join(d, 's2.json')]);
  t.match(twice.stderr, /shard 1\/3 already given/);
  const badShard = await runRunner(tr, ['--shard', '4/3']);
  t.equal(badShard.stderr, "run_kselftest.sh: invalid value '4/3' for option --shard: expected I/N with 1 <= I <= N\n");
});

t.test('--retries: a test that passes on a retry is FLAKY in TAP, JSON and JUnit (<flakyFailure>)', async (t) => {
  const tr = makeTree({ collections: { kvm: { flaky_t: { fixture: 'flaky.sh' }, fail_t: { fixture: 'fail.sh' } } } });
  const d = tmpDir('ksft-flaky-');
  const r = await runRunner(tr, ['--retries', '2', '--json', join(d, 'r.json'), '--junit', join(d, 'r.xml')], { env: { KSFT_FLAKY_DIR: d } });
  t.match(r.stdout, '# first run fails\n# retrying kvm:flaky_t (1 of 2) after exit=1\n# second run passes\nok 1 selftests: kvm: flaky_t # FLAKY passed on attempt 2 of 3\n');
  t.match(r.stdout, /# retrying kvm:fail_t \(2 of 2\) after exit=1\n# not ok 1 something\nnot ok 2 selftests: kvm: fail_t # exit=1\n/);
  const rep = readReport(join(d, 'r.json'));
  t.same(rep.tests.map((x) => [x.status, x.attempts.length]), [['flaky', 2], ['fail', 3]]);
  const x = await parseStringPromise(readFileSync(join(d, 'r.xml'), 'utf8'));
  const cases = x.testsuites.testsuite[0].testcase;
  t.equal(cases[0].flakyFailure.length, 1, 'flakyFailure, not a plain pass');
  t.notOk(cases[0].failure);
  t.equal(cases[1].rerunFailure.length, 2);
  t.ok(cases[1].failure);
});

t.test('--format ktap and tap14 nest a test\'s own TAP; others stay # lines', async (t) => {
  const tr = makeTree({ collections: { kvm: { tap_t: { fixture: 'tap_child.sh' }, plain_t: { fixture: 'pass.sh' }, fail_t: { fixture: 'fail.sh' } } } });
  const k = await runRunner(tr, ['--format', 'ktap']);
  t.match(k.stdout, /^KTAP version 1\n1\.\.3\n# timeout set to 45\n# selftests: kvm: tap_t\n  TAP version 13\n  1\.\.2\n  ok 1 first\n  ok 2 second # SKIP not here\n  # Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0\nok 1 selftests: kvm: tap_t\n/);
  t.match(k.stdout, /# pass: stdout line\n# pass: stderr line\nok 2 selftests: kvm: plain_t\n/);
  t.match(k.stdout, /\n# Totals: pass:2 fail:1 xfail:0 xpass:0 skip:0 error:0\n$/);
  const f = await runRunner(tr, ['--format', 'tap14']);
  t.match(f.stdout, /^TAP version 14\n1\.\.3\n# timeout set to 45\n# selftests: kvm: tap_t\n# Subtest: selftests: kvm: tap_t\n    TAP version 13\n    1\.\.2\n    ok 1 first\n/);
  const parsed = await parseTap(f.stdout);
  t.same(parsed.asserts.map((a) => [a.id, a.ok]), [[1, true], [2, true], [3, false]], 'tap-parser reads the nested stream');
  const bad = await runRunner(tr, ['--format', 'tap15']);
  t.equal(bad.stderr, "run_kselftest.sh: invalid value 'tap15' for option --format: expected tap13, ktap or tap14\n");
});

t.test('-m: one suite per cell, unique stable names, the cell\'s variables reach the test', async (t) => {
  const tr = makeTree({ collections: { kvm: { env_t: { fixture: 'env.sh' } } } });
  const r = await runRunner(tr, ['-m', 'KSFT_PLATFORM=snp,tdx', '-m', 'KSFT_KERNEL=6.12,6.18', '-j', '2']);
  const results = r.stdout.split('\n').filter((l) => /^(not )?ok /.test(l));
  t.same(results, [
    'ok 1 selftests: kvm[platform=snp,kernel=6.12]: env_t',
    'ok 1 selftests: kvm[platform=snp,kernel=6.18]: env_t',
    'ok 1 selftests: kvm[platform=tdx,kernel=6.12]: env_t',
    'ok 1 selftests: kvm[platform=tdx,kernel=6.18]: env_t',
  ]);
  t.match(r.stdout, '# selftests: kvm[platform=tdx,kernel=6.12]: env_t\n# KSFT_PLATFORM=tdx KSFT_KERNEL=6.12\n');
  const dup = await runRunner(tr, ['-m', 'KSFT_PLATFORM=snp', '-m', 'KSFT_PLATFORM=tdx']);
  t.equal(dup.stderr, 'run_kselftest.sh: -m: KSFT_PLATFORM is given twice\n');
});

t.test('--progress always: a live totals line on stderr and a summary naming failures and timeouts', async (t) => {
  const tr = tree();
  const d = tmpDir('ksft-progress-');
  mkdirSync(join(d, 'x'));
  const r = await runRunner(tr, ['-o', '1', '--progress', 'always'], { env: { KSFT_FIXTURE_PIDS: join(d, 'pids') } });
  t.match(r.stderr, /\r\x1b\[K\[3\/6 \d+s\] pass:1 fail:1 timeout:0 skip:1 xfail:0 flaky:0/);
  t.match(r.stderr, /6 tests: 3 passed, 1 failed, 1 timed out, 1 skipped, 0 xfail, 0 flaky\nFAILED    selftests: alpha: fail_t # exit=1\nTIMED OUT selftests: beta: hang_t # TIMEOUT 1 seconds\n$/);
  const quiet = await runRunner(tr, ['-o', '1'], { env: { KSFT_FIXTURE_PIDS: join(d, 'pids') } });
  t.equal(quiet.stderr, '', 'not a terminal: nothing on stderr');
  t.notOk(existsSync(join(d, 'x', 'y')));
});
