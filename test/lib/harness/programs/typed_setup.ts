/**
 * FIXTURE_SETUP() returning the state it made: the fields reach the test
 * bodies and the teardown typed (no placeholder in FIXTURE(), no `!`), also
 * a parent teardown's copy, and not when the setup stopped early. Each
 * teardown appends `<what>` to the file named by TEARDOWN_LOG.
 */
import { appendFileSync } from 'node:fs';
import {
  ASSERT_EQ, EXPECT_EQ, FIXTURE, FIXTURE_SETUP, FIXTURE_TEARDOWN, FIXTURE_TEARDOWN_PARENT, FIXTURE_VARIANT_ADD, SKIP, TEST_F,
  TEST_HARNESS_MAIN,
} from '../../../../lib/harness/index.js';

const note = (what: string): void => appendFileSync(process.env.TEARDOWN_LOG ?? '', `${what}\n`);

const sized = FIXTURE<{ calls: number }, { pages: number }>('sized', () => ({ calls: 0 }));
FIXTURE_VARIANT_ADD(sized, 'two', { pages: 2 });
const vm = FIXTURE_SETUP(sized, async (self, variant) => {
  self.calls++;
  await Promise.resolve();
  return { fd: 40 + variant.pages, name: `vm${variant.pages}`, pages: new Array<number>(variant.pages).fill(7) };
});
FIXTURE_TEARDOWN(vm, (self) => note(`teardown ${self.name} fd=${self.fd} calls=${self.calls}`));
TEST_F(vm, 'sees_state', (self, variant) => {
  ASSERT_EQ(42, self.fd);
  EXPECT_EQ(variant.pages, self.pages.length);
  EXPECT_EQ(1, self.calls);
});

const owned = FIXTURE_SETUP(FIXTURE('owned'), () => ({ pid: process.pid }));
FIXTURE_TEARDOWN_PARENT(owned, (self) => note(`parent-teardown same=${self.pid === process.pid ? 1 : 0}`));
TEST_F(owned, 'has_pid', (self) => {
  ASSERT_EQ(process.pid, self.pid);
});

const skipped = FIXTURE_SETUP(FIXTURE('skipped'), (): { fd: number } => {
  SKIP('no device');
  return { fd: 3 };
});
FIXTURE_TEARDOWN(skipped, (self) => note(`skipped-teardown ${self.fd}`));
TEST_F(skipped, 'body', (self) => note(`skipped-body ${self.fd}`));

await TEST_HARNESS_MAIN();
