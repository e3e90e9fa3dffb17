/**
 * kselftest exit codes (tools/testing/selftests/kselftest.h). A selftest
 * program exits with one of these; the runner and the harness map them to
 * TAP results, so the numbers are an interface and never change.
 */

/** exit 0: every test passed. */
export const KSFT_PASS = 0;
/** exit 1: a test failed. */
export const KSFT_FAIL = 1;
/** exit 2: failed as expected. */
export const KSFT_XFAIL = 2;
/** exit 3: passed although expected to fail. */
export const KSFT_XPASS = 3;
/** exit 4: skipped (a requirement not met). */
export const KSFT_SKIP = 4;

/** One of the KSFT_* exit codes. */
export type KsftCode =
  | typeof KSFT_PASS
  | typeof KSFT_FAIL
  | typeof KSFT_XFAIL
  | typeof KSFT_XPASS
  | typeof KSFT_SKIP;
