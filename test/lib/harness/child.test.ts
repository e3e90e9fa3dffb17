/**
 * The test process (lib/harness/child.ts): work a TEST started without
 * awaiting it still belongs to that TEST. A rejection nobody handles, an
 * EXPECT or ASSERT failing after an await, an exception thrown from a timer:
 * each fails the test and names where it came from.
 */
import t from 'tap';
import { bundle, runMerged, tempDir } from '../kselftest/support.js';

const { dir, remove } = tempDir('ksft-harness-child-');
t.teardown(remove);

t.test('failures in code the test did not await fail the test, with their location', async (t) => {
  const program = await bundle('test/lib/harness/programs/unawaited.ts', dir);
  const r = runMerged(program);
  t.equal(r.status, 1);
  const results = r.output.split('\n').filter((l) => /^(not )?ok /.test(l));
  t.same(results, [
    'not ok 1 global.rejected_promise',
    'not ok 2 global.expect_after_await',
    'not ok 3 global.assert_after_immediate',
    'not ok 4 global.throw_in_timer',
    'ok 5 global.awaited_pass',
  ]);
  t.match(r.output, /^# unawaited\.ts:10:rejected_promise:Unhandled promise rejection outside the test's await chain: Error: nobody awaits this$/m);
  t.match(r.output, /^# unawaited\.ts:16:expect_after_await:Expected 1 \(1\) == 2 \(2\)$/m);
  t.match(r.output, /^# unawaited\.ts:23:assert_after_immediate:Expected 3 \(3\) == 4 \(4\)$/m);
  t.match(r.output, /^# assert_after_immediate: Test terminated by assertion$/m, 'an ASSERT stays an assertion');
  t.match(r.output, /^# unawaited\.ts:29:throw_in_timer:Uncaught exception outside the test's await chain: Error: thrown from a timer$/m);
  t.match(r.output, /^# throw_in_timer: Error: thrown from a timer\n# throw_in_timer: +at Timeout\._onTimeout \(.*unawaited\.ts:29:11\)$/m, 'the stack names the .ts source');
});
