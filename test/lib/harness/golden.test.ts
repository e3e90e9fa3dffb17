/**
 * tests/kselftest_harness: harness-selftest's transcript against the golden
 * file, its TAP read by a real TAP parser, and the golden checker program
 * both passing and failing.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, type FinalResults } from 'tap-parser';
import t from 'tap';
import { lineDiff, normaliseTranscript } from '../../../tests/kselftest_harness/golden.js';
import { REPO, bundle, runMerged, runProgram, tempDir } from '../kselftest/support.js';

const { dir, remove } = tempDir('ksft-harness-golden-');
t.teardown(remove);
const expectedPath = join(REPO, 'tests/kselftest_harness/harness-selftest.expected');
const selftest = await bundle('tests/kselftest_harness/harness-selftest.ts', dir);
const checker = await bundle('tests/kselftest_harness/harness_selftest_golden.ts', dir);
// The build's layout: an executable launcher beside each bundle, data files copied.
writeFileSync(join(dir, 'harness-selftest'), "#!/usr/bin/env -S node --enable-source-maps\nimport('./harness-selftest.mjs');\n", { mode: 0o755 });
copyFileSync(expectedPath, join(dir, 'harness-selftest.expected'));

const run = runMerged(selftest);

t.test('transcript matches harness-selftest.expected', async (t) => {
  t.equal(run.status, 1, 'harness-selftest fails: it has failing tests on purpose');
  const diff = lineDiff(normaliseTranscript(readFileSync(expectedPath, 'utf8')), normaliseTranscript(run.output));
  t.same(diff, [], 'no difference');
});

t.test('a TAP parser reads the transcript', async (t) => {
  const parser = new Parser();
  const done = new Promise<FinalResults>((resolve) => parser.on('complete', resolve));
  parser.end(run.output);
  const results = await done;
  t.equal(results.plan.end, 22);
  t.equal(results.count, 22);
  t.equal(results.fail, 8);
  t.equal(results.pass, 14);
  t.equal(results.skip, 3);
  t.equal(results.ok, false);
});

t.test('the golden checker passes on the real golden file', async (t) => {
  const r = runProgram(checker);
  t.equal(r.status, 0);
  t.equal(
    r.stdout,
    'TAP version 13\n1..2\nok 1 harness-selftest exits with KSFT_FAIL\nok 2 harness-selftest output matches harness-selftest.expected\n' +
      '# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0\n',
  );
});

t.test('the golden checker fails and shows the difference on a wrong golden file', async (t) => {
  const golden = readFileSync(expectedPath, 'utf8').replace('ok 11 counter.pass\n', 'ok 11 counter.passes\n');
  writeFileSync(join(dir, 'harness-selftest.expected'), golden);
  t.teardown(() => copyFileSync(expectedPath, join(dir, 'harness-selftest.expected')));
  const r = runProgram(checker);
  t.equal(r.status, 1);
  t.match(r.stdout, /^# -ok 11 counter\.passes$/m);
  t.match(r.stdout, /^# \+ok 11 counter\.pass$/m);
  t.match(r.stdout, /^not ok 2 harness-selftest output matches harness-selftest\.expected$/m);
});

t.test('normalisation and diff helpers', async (t) => {
  t.equal(normaliseTranscript('teardown pid=1234 PID:5\n'), 'teardown pid=N PID:N\n');
  t.same(lineDiff('a\nb\nc', 'a\nx\nc'), [' a', '+x', '-b', ' c']);
  t.same(lineDiff('same', 'same'), []);
});
