/**
 * kselftest exit codes (tools/testing/selftests/kselftest.h). A selftest
 * program exits with one of these; the runner and the harness map them to
 * TAP results, so the numbers are an interface and never change.
 */
export const KSFT_PASS = 0;
export const KSFT_FAIL = 1;
export const KSFT_XFAIL = 2;
export const KSFT_XPASS = 3;
export const KSFT_SKIP = 4;

export type KsftCode =
  | typeof KSFT_PASS
  | typeof KSFT_FAIL
  | typeof KSFT_XFAIL
  | typeof KSFT_XPASS
  | typeof KSFT_SKIP;
