/**
 * Teardown bookkeeping: every teardown appends `<test> <pid>` to the file
 * named by TEARDOWN_LOG, so the test can count how often (and in which
 * process) each teardown ran.
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ASSERT_EQ,
  EXPECT_EQ,
  FIXTURE,
  FIXTURE_SETUP,
  FIXTURE_TEARDOWN,
  FIXTURE_TEARDOWN_PARENT,
  TEST_F,
  TEST_F_TIMEOUT,
  TEST_HARNESS_MAIN,
} from '../../../../lib/harness/index.js';

const log = process.env.TEARDOWN_LOG ?? '';
const note = (what: string): void => appendFileSync(log, `${what} ${process.pid}\n`);

interface Data {
  phase: string;
}

const child = FIXTURE<Data>('child', () => ({ phase: 'new' }));
FIXTURE_SETUP(child, (self) => {
  self.phase = 'set';
});
FIXTURE_TEARDOWN(child, (self) => {
  note(`child-teardown-${self.phase}`);
  ASSERT_EQ('set', self.phase === 'boom' ? 'teardown-assert' : 'set');
});
TEST_F(child, 'passes', (self) => {
  self.phase = 'passes';
});
TEST_F(child, 'asserts', async (self) => {
  self.phase = 'asserts';
  await sleep(1);
  ASSERT_EQ(1, 2);
});
TEST_F(child, 'teardown_asserts', (self) => {
  self.phase = 'boom';
});
TEST_F_TIMEOUT(child, 'times_out', 1, async (self) => {
  self.phase = 'times_out';
  await new Promise(() => {});
});

const parent = FIXTURE<Data>('parent', () => ({ phase: 'new' }));
FIXTURE_SETUP(parent, (self) => {
  self.phase = 'set';
  note('parent-setup');
});
FIXTURE_TEARDOWN_PARENT(parent, (self) => {
  note(`parent-teardown-${self.phase}`);
});
TEST_F(parent, 'asserts', (self) => {
  self.phase = 'asserts';
  ASSERT_EQ(1, 2);
});
TEST_F(parent, 'exits', (self) => {
  self.phase = 'exits';
  process.exit(0);
});

const badSetup = FIXTURE<Data>('bad_setup', () => ({ phase: 'new' }));
FIXTURE_SETUP(badSetup, () => {
  EXPECT_EQ(0, 1);
});
FIXTURE_TEARDOWN(badSetup, () => {
  note('bad-setup-teardown');
});
TEST_F(badSetup, 'body', () => {
  note('bad-setup-body');
});

await TEST_HARNESS_MAIN();
