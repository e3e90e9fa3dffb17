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
import { EFAULT, EINVAL } from '../../../../lib/libc/errno.js';

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
  const r = { ret: -1, errno: 22 };
  EXPECT_EQ(r.errno, EFAULT);
  EXPECT_NE(EINVAL, r.errno);
});

/** A helper of the test's own that throws: its frame is shown, the harness's are not. */
function brokenHelper(): never {
  throw new Error('the helper broke');
}

TEST('throws', () => {
  brokenHelper();
});

await TEST_HARNESS_MAIN();
