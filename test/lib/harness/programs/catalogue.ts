/** Fixtures, variants and tests that all pass quickly: for the CLI filters and -l. */
import {
  EXPECT_TRUE,
  FIXTURE,
  FIXTURE_VARIANT_ADD,
  TEST,
  TEST_F,
  TEST_HARNESS_MAIN,
} from '../../../../lib/harness/index.js';

TEST('alpha', () => {
  EXPECT_TRUE(1);
});
TEST('beta', () => {
  EXPECT_TRUE(1);
});

const mem = FIXTURE<Record<string, never>, { size: number }>('mem', () => ({}));
FIXTURE_VARIANT_ADD(mem, 'small', { size: 1 });
FIXTURE_VARIANT_ADD(mem, 'large', { size: 2 });
FIXTURE_VARIANT_ADD(mem, 'huge', { size: 3 });
TEST_F(mem, 'alloc', (_s, v) => {
  EXPECT_TRUE(v.size);
});
TEST_F(mem, 'free', (_s, v) => {
  EXPECT_TRUE(v.size);
});

const io = FIXTURE('io', () => ({}));
TEST_F(io, 'alpha', () => {
  EXPECT_TRUE(1);
});

FIXTURE('empty', () => ({}));

const variantsOnly = FIXTURE<Record<string, never>, { n: number }>('variants_only', () => ({}));
FIXTURE_VARIANT_ADD(variantsOnly, 'a', { n: 1 });
FIXTURE_VARIANT_ADD(variantsOnly, 'b', { n: 2 });

await TEST_HARNESS_MAIN();
