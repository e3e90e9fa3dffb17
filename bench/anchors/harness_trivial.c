/* Twenty TESTs that pass at once, in the kernel's C harness: the anchor of
 * bench/figures/harness.ts (built with -I tools/testing/selftests of
 * linux-source-6.12, which the figure extracts). */
#include "kselftest_harness.h"

#define T(n) TEST(trivial_##n) { ASSERT_EQ(1##n, 1##n); }
T(00) T(01) T(02) T(03) T(04) T(05) T(06) T(07) T(08) T(09)
T(10) T(11) T(12) T(13) T(14) T(15) T(16) T(17) T(18) T(19)

TEST_HARNESS_MAIN
