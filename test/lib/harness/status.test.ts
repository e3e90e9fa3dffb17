/** The exit-status table of __wait_for_test(), row by row. */
import t from 'tap';
import { KSFT_FAIL, KSFT_PASS, KSFT_SKIP, KSFT_XFAIL, KSFT_XPASS } from '../../../lib/kselftest/codes.js';
import { testPassed, testVerdict } from '../../../lib/harness/status.js';

const SIGUSR2 = 12;
const end = (code: number | null, signal: number | null, timedOut = false) => ({ code, signal, timedOut });

t.test('normal exits without an expected signal', async (t) => {
  t.same(testVerdict('t', -1, end(0, null)), { exitCode: KSFT_PASS, message: undefined });
  for (const code of [KSFT_XFAIL, KSFT_XPASS, KSFT_SKIP]) t.same(testVerdict('t', -1, end(code, null)), { exitCode: code, message: undefined });
  for (const code of [1, 5, 254]) t.same(testVerdict('t', -1, end(code, null)), { exitCode: KSFT_FAIL, message: '# t: Test failed\n' });
});

t.test('TEST_SIGNAL', async (t) => {
  t.same(testVerdict('s', SIGUSR2, end(null, SIGUSR2)), { exitCode: KSFT_PASS, message: undefined });
  t.same(testVerdict('s', SIGUSR2, end(0, null)), {
    exitCode: KSFT_FAIL,
    message: '# s: Test exited normally instead of by signal (code: 0)\n',
  });
  t.same(testVerdict('s', SIGUSR2, end(1, null)).message, '# s: Test exited normally instead of by signal (code: 1)\n');
  // 2..4 keep their meaning even when a signal was expected.
  t.same(testVerdict('s', SIGUSR2, end(KSFT_SKIP, null)), { exitCode: KSFT_SKIP, message: undefined });
});

t.test('signals', async (t) => {
  t.same(testVerdict('a', -1, end(null, 6)), { exitCode: KSFT_FAIL, message: '# a: Test terminated by assertion\n' });
  t.same(testVerdict('a', 6, end(null, 6)).message, '# a: Test terminated by assertion\n', 'SIGABRT is an assertion first');
  t.same(testVerdict('k', -1, end(null, 9)), { exitCode: KSFT_FAIL, message: '# k: Test terminated unexpectedly by signal 9\n' });
});

t.test('timeout wins over how the process ended', async (t) => {
  t.same(testVerdict('z', -1, end(null, 9, true)), { exitCode: KSFT_FAIL, message: '# z: Test terminated by timeout\n' });
  t.same(testVerdict('z', -1, end(0, null, true)).message, '# z: Test terminated by timeout\n');
});

t.test('__test_passed', async (t) => {
  t.same([0, 1, 2, 3, 4, 5].map(testPassed), [true, false, true, true, true, false]);
});
