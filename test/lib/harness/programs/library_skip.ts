/**
 * Library skips inside harness TESTs: kvm_util's TEST_REQUIRE (a
 * ksft_exit_skip() in C) and a model-only feature asked for on a backend
 * without it. Each must end only its own test, as that test's SKIP.
 */
import { TEST, TEST_HARNESS_MAIN, EXPECT_EQ } from '../../../../lib/harness/index.js';
import { TEST_REQUIRE, requireModel } from '../../../../lib/kvm_util/index.js';

TEST('requires_a_cap', () => {
  TEST_REQUIRE(false, 'kvm_has_cap(KVM_CAP_FOO)');
});

TEST('runs', () => {
  EXPECT_EQ(1, 1);
});

TEST('needs_the_model', async () => {
  await Promise.resolve();
  requireModel('memory poison injection');
});

void TEST_HARNESS_MAIN();
