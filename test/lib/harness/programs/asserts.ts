/** Every EXPECT macro failing once, for the exact failure messages. */
import {
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
  TEST,
  TEST_HARNESS_MAIN,
  TH_LOG,
  setThLogStream,
} from '../../../../lib/harness/index.js';

setThLogStream('stdout');

const gpa = 0x1000n;
const size = 4096;

TEST('messages', () => {
  EXPECT_EQ(gpa + 1n, 0x2000n);
  EXPECT_NE(size, 4096);
  EXPECT_LT(size, 10);
  EXPECT_LE(2, 1);
  EXPECT_GT(-1, 0);
  EXPECT_GE(Number.MIN_SAFE_INTEGER, size * 2);
  EXPECT_NULL({ fd: 3 });
  EXPECT_TRUE(false);
  EXPECT_FALSE(size);
  EXPECT_STREQ('guest_memfd', ['guest', 'mem'].join('_'));
  EXPECT_STRNE('a', 'a');
  EXPECT_EQ(/* a comment */ Math.max(1,
      2,   3), 4);
  EXPECT_EQ(true, 0);
  EXPECT_EQ(0, null);
  EXPECT_EQ(1, 1n);
  EXPECT_EQ('x', 'x');
  TH_LOG('%s=%#x', 'gpa', Number(gpa));
});

await TEST_HARNESS_MAIN();
