/**
 * How the harness reads a finished test process: `__wait_for_test()` and
 * `__test_passed()` in kselftest_harness.h.
 */
import { KSFT_FAIL, KSFT_PASS, KSFT_SKIP, KSFT_XFAIL, KSFT_XPASS } from '../kselftest/codes.js';

export interface TestEnd {
  /** Exit status when the process exited, else null. */
  readonly code: number | null;
  /** Terminating signal number when it was killed, else null. */
  readonly signal: number | null;
  /** The harness killed the process group when the timeout expired. */
  readonly timedOut: boolean;
}

export interface TestVerdict {
  readonly exitCode: number;
  /** The `# <test>: ...` line for TH_LOG_STREAM, newline included, if any. */
  readonly message: string | undefined;
}

/** SIGABRT is what a failed ASSERT ends the test process with. */
export const SIGABRT = 6;

/**
 * `termsig` is -1 unless the test was declared with TEST_SIGNAL /
 * TEST_F_SIGNAL. `name` is the bare test name, as C prints t->name.
 */
export function testVerdict(name: string, termsig: number, end: TestEnd): TestVerdict {
  if (end.timedOut) return { exitCode: KSFT_FAIL, message: `# ${name}: Test terminated by timeout\n` };
  if (end.code !== null) {
    const code = end.code;
    if (code === KSFT_SKIP || code === KSFT_XPASS || code === KSFT_XFAIL) return { exitCode: code, message: undefined };
    if (termsig !== -1)
      return { exitCode: KSFT_FAIL, message: `# ${name}: Test exited normally instead of by signal (code: ${code})\n` };
    if (code === KSFT_PASS) return { exitCode: KSFT_PASS, message: undefined };
    return { exitCode: KSFT_FAIL, message: `# ${name}: Test failed\n` };
  }
  if (end.signal !== null) {
    if (end.signal === SIGABRT) return { exitCode: KSFT_FAIL, message: `# ${name}: Test terminated by assertion\n` };
    if (end.signal === termsig) return { exitCode: KSFT_PASS, message: undefined };
    return { exitCode: KSFT_FAIL, message: `# ${name}: Test terminated unexpectedly by signal ${end.signal}\n` };
  }
  return { exitCode: KSFT_FAIL, message: `# ${name}: Test ended in some other way [0]\n` };
}

/** Any code up to KSFT_SKIP except KSFT_FAIL counts as passed (skips, XFAIL and XPASS included). */
export function testPassed(exitCode: number): boolean {
  return exitCode !== KSFT_FAIL && exitCode <= KSFT_SKIP && exitCode >= 0;
}
