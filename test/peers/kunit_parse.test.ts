// Peer test: the streams our runner prints, read by the parsers kernel CI
// uses. kunit.py parse (tools/testing/kunit, from the linux-source-6.12
// tarball), tap-parser (node tooling) and a scraper in the manner of LKFT's
// legacy parse-output.py (./lkft_scraper.ts) must find every test with the
// result the runner meant: pass, skip, fail for exit=N and death by signal,
// and TIMEOUT as a failure.
//
// What kunit.py does with the two shapes (kunit_parser.py, 6.12):
//  - 6.12 shape (one `TAP version 13` + plan per collection): it parses the
//    first stream up to its plan and ignores the rest, so only the first
//    collection's tests are counted. A failure in a later collection leaves
//    `kunit.py parse` exiting 0. The kernel's own runner prints the same
//    bytes (test/peers/kernel_runner.test.ts), so this is how kunit reads
//    any 6.12 kselftest run, not a fault of ours.
//  - --ktap shape (one stream for the run): every test is counted; `# XFAIL`
//    is a pass (kunit knows only the SKIP directive); `# TIMEOUT` and
//    `# exit=N` are failures, the directive text dropped from the name.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseTap, type ParsedStream } from '../tools/runner/helpers.js';
import { installOurs, kernelTree, kunitMissing, run, tmpDir, type CollectionSpec, type Ran } from './helpers.js';
import { scrape } from './lkft_scraper.js';

const missing = kunitMissing();

const SPEC: CollectionSpec = {
  tests: [
    { collection: 'a_mixed', name: 'pass', fixture: 'pass.sh' },
    { collection: 'a_mixed', name: 'skip', fixture: 'skip.sh' },
    { collection: 'a_mixed', name: 'fail', fixture: 'fail.sh' },
    { collection: 'a_mixed', name: 'assert_fail', fixture: 'exit254.sh', peer: true },
    { collection: 'a_mixed', name: 'segv', fixture: 'segv.sh' },
    { collection: 'a_mixed', name: 'hang', fixture: 'hang.sh' },
    { collection: 'a_mixed', name: 'xfail', fixture: 'xfail.sh' },
    { collection: 'a_mixed', name: 'missing' },
    { collection: 'b_clean', name: 'pass2', fixture: 'pass.sh' },
    { collection: 'b_clean', name: 'skip2', fixture: 'skip.sh' },
    { collection: 'z_fail', name: 'late_fail', fixture: 'fail.sh' },
  ],
  settings: { a_mixed: 'timeout=1\n' },
};

type Status = 'PASS' | 'SKIP' | 'FAIL';
const A_MIXED_612: Record<string, Status> = {
  'selftests: a_mixed: pass': 'PASS',
  'selftests: a_mixed: skip': 'SKIP',
  'selftests: a_mixed: fail': 'FAIL',
  'selftests: a_mixed: assert_fail': 'FAIL',
  'selftests: a_mixed: segv': 'FAIL',
  'selftests: a_mixed: hang': 'FAIL',
  // exit 2 has no arm in the 6.12 runner: `not ok ... # exit=2`.
  'selftests: a_mixed: xfail': 'FAIL',
  'selftests: a_mixed: missing': 'FAIL',
};
const LATER: Record<string, Status> = {
  'selftests: b_clean: pass2': 'PASS',
  'selftests: b_clean: skip2': 'SKIP',
  'selftests: z_fail: late_fail': 'FAIL',
};

interface Kunit {
  code: number | null;
  /** `Ran N tests: passed: P, failed: F, skipped: S` as numbers (absent keys are 0). */
  counts: Record<'ran' | 'passed' | 'failed' | 'skipped' | 'crashed' | 'errors', number>;
  statuses: Record<string, string>;
  stdout: string;
}

interface KunitJsonGroup {
  test_cases: { name: string; status: string }[];
  sub_groups: KunitJsonGroup[];
}

async function kunitParse(stream: string, tag: string): Promise<Kunit> {
  const dir = tmpDir('ksft-peer-kunit-');
  const input = join(dir, `${tag}.log`);
  const json = join(dir, `${tag}.json`);
  writeFileSync(input, stream, 'latin1');
  const r = await run('python3', [kernelTree().kunitPy, 'parse', `--json=${json}`, input]);
  const ran = /Ran (\d+) tests?: (.*)$/m.exec(r.stdout);
  const counts = { ran: 0, passed: 0, failed: 0, skipped: 0, crashed: 0, errors: 0 };
  if (ran) {
    counts.ran = Number(ran[1]);
    for (const m of ran[2]!.matchAll(/(\w+): (\d+)/g)) {
      if (m[1]! in counts) counts[m[1] as keyof typeof counts] = Number(m[2]);
    }
  }
  const statuses: Record<string, string> = {};
  const walk = (g: KunitJsonGroup): void => {
    for (const c of g.test_cases) statuses[c.name] = c.status;
    for (const s of g.sub_groups) walk(s);
  };
  walk(JSON.parse(readFileSync(json, 'utf8')) as KunitJsonGroup);
  return { code: r.code, counts, statuses, stdout: r.stdout };
}

interface Streams {
  sixTwelve: Ran;
  ktap: Ran;
  cleanFirst: Ran;
  cleanFirstKtap: Ran;
}

let streams: Promise<Streams> | undefined;
function ourStreams(): Promise<Streams> {
  streams ??= (async () => {
    const inst = await installOurs(SPEC);
    const env = { KSFT_FIXTURE_PIDS: join(tmpDir('ksft-peer-pids-'), 'pids') };
    const [sixTwelve, ktap, cleanFirst, cleanFirstKtap] = await Promise.all([
      run(inst.script, ['-c', 'a_mixed', '-c', 'b_clean', '-c', 'z_fail'], env),
      run(inst.script, ['--ktap', '-c', 'a_mixed', '-c', 'b_clean', '-c', 'z_fail'], env),
      run(inst.script, ['-c', 'b_clean', '-c', 'z_fail'], env),
      run(inst.script, ['--ktap', '-c', 'b_clean', '-c', 'z_fail'], env),
    ]);
    return { sixTwelve, ktap, cleanFirst, cleanFirstKtap };
  })();
  return streams;
}

const hdr = (s: string): string => s.replace(/^selftests: /, '');

t.test('kunit.py parse (6.12) reads our streams', { skip: missing ? `kunit.py unavailable: ${missing}` : false }, async (t) => {
  const s = await ourStreams();
  t.test('6.12 shape: the first collection only, every result arm', async (t) => {
    const k = await kunitParse(s.sixTwelve.stdout, 'six_twelve');
    t.same(k.statuses, A_MIXED_612, 'per-test statuses; later collections are not read');
    t.match(k.counts, { ran: 8, passed: 1, failed: 6, skipped: 1, crashed: 0, errors: 0 });
    t.equal(k.code, 1, 'kunit.py exits 1: a test failed');
    t.match(k.stdout, /\[FAILED\] selftests: a_mixed: hang/);
    t.match(k.stdout, /\[SKIPPED\] selftests: a_mixed: skip/);
  });
  t.test('6.12 shape: a failure in a later collection is invisible to kunit', async (t) => {
    const k = await kunitParse(s.cleanFirst.stdout, 'clean_first');
    t.same(k.statuses, { 'selftests: b_clean: pass2': 'PASS', 'selftests: b_clean: skip2': 'SKIP' });
    t.match(k.counts, { ran: 2, passed: 1, failed: 0, skipped: 1 });
    t.equal(k.code, 0, 'kunit.py exits 0 although z_fail failed');
    t.match(s.cleanFirst.stdout, /^not ok 1 selftests: z_fail: late_fail # exit=1$/m, 'the failure is in the stream');
  });
  t.test('--ktap shape: one stream, every test counted; XFAIL passes, TIMEOUT fails', async (t) => {
    const k = await kunitParse(s.ktap.stdout, 'ktap');
    t.same(k.statuses, { ...A_MIXED_612, 'selftests: a_mixed: xfail': 'PASS', ...LATER });
    t.match(k.counts, { ran: 11, passed: 3, failed: 6, skipped: 2, crashed: 0, errors: 0 });
    t.equal(k.code, 1);
    const late = await kunitParse(s.cleanFirstKtap.stdout, 'clean_first_ktap');
    t.equal(late.statuses['selftests: z_fail: late_fail'], 'FAIL', 'a later failure is seen in the single stream');
    t.equal(late.code, 1);
  });
});

interface Expected {
  id: number;
  ok: boolean;
  name: string;
  skip: boolean;
}

const asserted = (p: ParsedStream): Expected[] => p.asserts.map((a) => ({ id: a.id, ok: a.ok, name: a.name, skip: a.skip !== false }));

t.test('tap-parser reads our streams', async (t) => {
  const s = await ourStreams();
  t.test('6.12 shape: one parser per collection stream', async (t) => {
    const chunks = s.sixTwelve.stdout.split(/^(?=TAP version 13$)/m);
    t.equal(chunks.length, 3, 'one stream per collection');
    const parsed = await Promise.all(chunks.map(parseTap));
    // tap-parser knows only the skip and to-do directives: `# exit=N` and
    // `# TIMEOUT T seconds` stay in the name, and the line is a failure.
    t.same(parsed.map(asserted), [
      [
        { id: 1, ok: true, name: 'selftests: a_mixed: pass', skip: false },
        { id: 2, ok: true, name: 'selftests: a_mixed: skip', skip: true },
        { id: 3, ok: false, name: 'selftests: a_mixed: fail # exit=1', skip: false },
        { id: 4, ok: false, name: 'selftests: a_mixed: assert_fail # exit=254', skip: false },
        { id: 5, ok: false, name: 'selftests: a_mixed: segv # exit=139', skip: false },
        { id: 6, ok: false, name: 'selftests: a_mixed: hang # TIMEOUT 1 seconds', skip: false },
        { id: 7, ok: false, name: 'selftests: a_mixed: xfail # exit=2', skip: false },
        { id: 8, ok: false, name: 'selftests: a_mixed: missing', skip: false },
      ],
      [
        { id: 1, ok: true, name: 'selftests: b_clean: pass2', skip: false },
        { id: 2, ok: true, name: 'selftests: b_clean: skip2', skip: true },
      ],
      [{ id: 1, ok: false, name: 'selftests: z_fail: late_fail # exit=1', skip: false }],
    ]);
    t.same(parsed.map((p) => [p.plan.start, p.plan.end, p.ok]), [[1, 8, false], [1, 2, true], [1, 1, false]]);
    t.ok(parsed.every((p) => p.bailout === false), 'child output is prefixed: no Bail out! reaches the parser');
    const whole = await parseTap(s.sixTwelve.stdout);
    t.notOk(whole.ok, 'one parser over the whole 6.12 run fails: test ids restart per collection');
  });
  t.test('--ktap shape: one parser, one plan, a Totals comment', async (t) => {
    const p = await parseTap(s.ktap.stdout);
    t.same(asserted(p).map((a) => [a.id, a.ok, hdr(a.name), a.skip]), [
      [1, true, 'a_mixed: pass', false],
      [2, true, 'a_mixed: skip', true],
      [3, false, 'a_mixed: fail # exit=1', false],
      [4, false, 'a_mixed: assert_fail # exit=254', false],
      [5, false, 'a_mixed: segv # exit=139', false],
      [6, false, 'a_mixed: hang # TIMEOUT 1 seconds', false],
      // XFAIL is not a tap-parser directive: an ok line with the word in its name.
      [7, true, 'a_mixed: xfail # XFAIL', false],
      [8, false, 'a_mixed: missing', false],
      [9, true, 'b_clean: pass2', false],
      [10, true, 'b_clean: skip2', true],
      [11, false, 'z_fail: late_fail # exit=1', false],
    ]);
    t.match(p.plan, { start: 1, end: 11 });
    t.notOk(p.ok);
    t.ok(p.comments.some((c) => c === '# Totals: pass:2 fail:6 xfail:1 xpass:0 skip:2 error:0\n'), 'the Totals line');
  });
});

t.test('an LKFT-legacy regex scraper reads our streams', async (t) => {
  const s = await ourStreams();
  // Results of the tests' own TAP are scraped too (the regexes allow any
  // prefix): fail.sh prints `not ok 1 something`.
  const common = [
    { name: 'a_mixed_pass', result: 'pass' },
    { name: 'a_mixed_skip', result: 'skip' },
    { name: 'a_mixed_fail_something', result: 'fail' },
    { name: 'a_mixed_fail', result: 'fail' },
    { name: 'a_mixed_assert_fail', result: 'fail' },
    { name: 'a_mixed_segv', result: 'fail' },
    { name: 'a_mixed_hang', result: 'fail' },
  ];
  const rest = [
    { name: 'a_mixed_missing', result: 'fail' },
    { name: 'b_clean_pass2', result: 'pass' },
    { name: 'b_clean_skip2', result: 'skip' },
    { name: 'z_fail_late_fail_something', result: 'fail' },
    { name: 'z_fail_late_fail', result: 'fail' },
  ];
  t.same(scrape(s.sixTwelve.stdout), [...common, { name: 'a_mixed_xfail', result: 'fail' }, ...rest],
    '6.12 shape: every collection, exit 2 a failure');
  t.same(scrape(s.ktap.stdout), [...common, { name: 'a_mixed_xfail_XFAIL', result: 'pass' }, ...rest],
    '--ktap shape: XFAIL a pass with XFAIL in its name');
});
