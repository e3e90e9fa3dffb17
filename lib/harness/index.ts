/**
 * kselftest_harness.h for TypeScript: fixtures, variants, per-test
 * processes with timeouts, ASSERT/EXPECT, TH_LOG, SKIP, XFAIL_ADD.
 *
 *   TEST('standalone', () => { EXPECT_EQ(0, f()); });
 *
 *   const base = FIXTURE<Record<never, never>, { size: number }>('gmem');
 *   FIXTURE_VARIANT_ADD(base, 'one_page', { size: 4096 });
 *   // The state setup returns is `self`'s, typed, in the teardown and the tests.
 *   const gmem = FIXTURE_SETUP(base, (_self, variant) => {
 *     const fd = open(variant.size);
 *     ASSERT_GE(fd, 0);
 *     return { fd };
 *   });
 *   FIXTURE_TEARDOWN(gmem, (self) => { close(self.fd); });
 *   TEST_F(gmem, 'punch', async (self, variant) => { ASSERT_EQ(0, await punch(self.fd)); });
 *
 *   await TEST_HARNESS_MAIN();
 *
 * The names and the output are the C ones (`gmem.one_page.punch`, `#  RUN`,
 * `ok N`, `# PASSED: ...`, Totals). Differences that come from the
 * language: the macros are functions, FIXTURE() returns a handle and takes
 * an initialiser for `self`, FIXTURE_SETUP() may return the state it made
 * (merged into `self`, typed for the teardown and the tests), bodies may be async, SKIP() ends the body by
 * throwing (as `return` would in C), and each test runs in a fresh start of
 * the same program rather than a fork, so module top-level code runs again
 * in every test process and should only define tests.
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
export { TEST_HARNESS_MAIN, isHarnessTestProcess, testHarnessRun } from './run.js';
export { isAssertionAbort, isSkipReturn } from './sentinels.js';
