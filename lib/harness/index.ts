/**
 * kselftest_harness.h for TypeScript: fixtures, variants, per-test
 * processes with timeouts, ASSERT/EXPECT, TH_LOG, SKIP, XFAIL_ADD.
 */
export {
  FIXTURE,
  FIXTURE_SETUP,
  FIXTURE_TEARDOWN,
  FIXTURE_TEARDOWN_PARENT,
  FIXTURE_VARIANT_ADD,
  TEST,
  TEST_F,
  TEST_F_SIGNAL,
  TEST_F_TIMEOUT,
  TEST_SIGNAL,
  TEST_TIMEOUT_DEFAULT,
  XFAIL_ADD,
  type Awaitable,
  type Fixture,
  type FixtureFn,
  type SignalSpec,
} from './registry.js';
export {
  ASSERT_EQ,
  ASSERT_FALSE,
  ASSERT_GE,
  ASSERT_GT,
  ASSERT_LE,
  ASSERT_LT,
  ASSERT_NE,
  ASSERT_NULL,
  ASSERT_STREQ,
  ASSERT_STRNE,
  ASSERT_TRUE,
  EXPECT_EQ,
  EXPECT_FALSE,
  EXPECT_GE,
  EXPECT_GT,
  EXPECT_LE,
  EXPECT_LT,
  EXPECT_NE,
  EXPECT_NULL,
  EXPECT_STREQ,
  EXPECT_STRNE,
  EXPECT_TRUE,
  type OnFailure,
} from './assert.js';
export { SKIP, TH_LOG } from './log.js';
export { setThLogStream } from './config.js';
export { TEST_HARNESS_MAIN, testHarnessRun } from './run.js';
export { isAssertionAbort, isSkipReturn } from './sentinels.js';
