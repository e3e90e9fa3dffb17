/**
 * Failures in code a TEST started and did not await: each must fail its
 * test, with the place it came from, not pass because the body returned.
 */
import { ASSERT_EQ, EXPECT_EQ, TEST, TEST_HARNESS_MAIN, setThLogStream } from '../../../../lib/harness/index.js';

setThLogStream('stdout');

TEST('rejected_promise', () => {
  void Promise.reject(new Error('nobody awaits this'));
});

TEST('expect_after_await', () => {
  void (async () => {
    await null;
    EXPECT_EQ(1, 2);
  })();
});

TEST('assert_after_immediate', async () => {
  void (async () => {
    await new Promise((r) => setImmediate(r));
    ASSERT_EQ(3, 4);
  })();
});

TEST('throw_in_timer', () => {
  setTimeout(() => {
    throw new Error('thrown from a timer');
  }, 0);
});

TEST('awaited_pass', async () => {
  await (async () => {
    await null;
    EXPECT_EQ(5, 5);
  })();
});

await TEST_HARNESS_MAIN();
