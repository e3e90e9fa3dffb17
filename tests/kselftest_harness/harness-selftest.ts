/**
 * The harness checking itself: every way a test can end, with output that
 * is compared byte for byte against harness-selftest.expected by
 * harness_selftest_golden. Several tests here fail on purpose, so this
 * program exits 1; the runner runs the golden checker, not this program.
 *
 * TH_LOG goes to stdout (as in the kernel's own harness selftest) so the
 * whole transcript is one ordered stream.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ASSERT_EQ,
  ASSERT_NE,
  ASSERT_STREQ,
  EXPECT_EQ,
  EXPECT_GT,
  EXPECT_LE,
  EXPECT_NE,
  EXPECT_STRNE,
  EXPECT_TRUE,
  FIXTURE,
  FIXTURE_SETUP,
  FIXTURE_TEARDOWN,
  FIXTURE_TEARDOWN_PARENT,
  FIXTURE_VARIANT_ADD,
  SKIP,
  TEST,
  TEST_F,
  TEST_F_SIGNAL,
  TEST_F_TIMEOUT,
  TEST_HARNESS_MAIN,
  TEST_SIGNAL,
  TH_LOG,
  XFAIL_ADD,
  setThLogStream,
} from '../../lib/harness/index.js';
import { KSFT_FAIL, KSFT_XFAIL, KSFT_XPASS } from '../../lib/kselftest/index.js';

setThLogStream('stdout');

function sharedChecks(): void {
  ASSERT_EQ(2 + 2, 4);
}

TEST('plain_pass', () => {
  TH_LOG('start');
  ASSERT_EQ(1, 1);
  EXPECT_NE(0, 1n);
  sharedChecks();
  TH_LOG('end');
});

TEST('expect_keeps_going', () => {
  const answer = 41;
  EXPECT_EQ(42, answer);
  EXPECT_GT(answer, 100, () => TH_LOG('only printed because the EXPECT above failed'));
  TH_LOG('still running');
});

TEST('assert_stops', async () => {
  TH_LOG('start');
  await sleep(1);
  ASSERT_STREQ('kvm', ['k', 'v', 'n'].join(''));
  TH_LOG('never printed');
});

TEST_SIGNAL('dies_by_signal', 'SIGUSR2', () => {
  TH_LOG('raising SIGUSR2');
  process.kill(process.pid, 'SIGUSR2');
});

TEST_SIGNAL('signal_never_comes', 'SIGUSR2', () => {
  TH_LOG('returning normally');
});

TEST('skipped', () => {
  SKIP('no %s on this machine', 'frobnicator');
  TH_LOG('never printed');
});

TEST('unexpected_signal', () => {
  process.kill(process.pid, 'SIGTERM');
});

TEST('exit_fail', () => {
  process.exit(KSFT_FAIL);
});

TEST('exit_xfail', () => {
  process.exit(KSFT_XFAIL);
});

TEST('exit_xpass', () => {
  process.exit(KSFT_XPASS);
});

interface Counter {
  steps: number;
  label: string;
}

const counter = FIXTURE<Counter>('counter', () => ({ steps: 0, label: '' }));

FIXTURE_SETUP(counter, (self) => {
  self.steps = 1;
  self.label = 'ready';
  TH_LOG('setup steps=%d', self.steps);
});

FIXTURE_TEARDOWN(counter, (self) => {
  TH_LOG('teardown steps=%d label=%s', self.steps, self.label);
});

TEST_F(counter, 'pass', (self) => {
  self.steps++;
  ASSERT_STREQ('ready', self.label);
  EXPECT_LE(self.steps, 2);
});

TEST_F(counter, 'assert_then_teardown', (self) => {
  self.steps++;
  ASSERT_EQ(self.steps,
    3);
  TH_LOG('never printed');
});

TEST_F(counter, 'skip_then_teardown', (self) => {
  self.label = 'skipped';
  SKIP('counter %s', 'unsupported');
});

TEST_F_SIGNAL(counter, 'killed', 'SIGUSR2', (self) => {
  self.steps++;
  process.kill(process.pid, 'SIGUSR2');
});

TEST_F_TIMEOUT(counter, 'too_slow', 1, async () => {
  TH_LOG('sleeping past the timeout');
  await sleep(3000);
  TH_LOG('never printed');
});

interface Width {
  bits: number;
  name: string;
}

const width = FIXTURE<Record<string, never>, Width>('width', () => ({}));

FIXTURE_VARIANT_ADD(width, 'narrow', { bits: 8, name: 'u8' });
FIXTURE_VARIANT_ADD(width, 'wide', { bits: 64, name: 'u64' });

TEST_F(width, 'fits_in_32', (_self, variant) => {
  TH_LOG('%s has %d bits', variant.name, variant.bits);
  EXPECT_LE(variant.bits, 32);
});

TEST_F(width, 'is_power_of_two', (_self, variant) => {
  EXPECT_TRUE((variant.bits & (variant.bits - 1)) === 0);
});

XFAIL_ADD(width, 'wide', 'fits_in_32');
XFAIL_ADD(width, 'narrow', 'is_power_of_two');

interface Owner {
  pid: number;
}

const owner = FIXTURE<Owner>('owner', () => ({ pid: 0 }));

FIXTURE_SETUP(owner, (self) => {
  self.pid = process.pid;
  TH_LOG('setup');
});

FIXTURE_TEARDOWN_PARENT(owner, (self) => {
  TH_LOG('teardown same-process=%d', self.pid === process.pid ? 1 : 0);
});

TEST_F(owner, 'pass', (self) => {
  EXPECT_STRNE('', String(self.pid));
});

const broken = FIXTURE<Owner>('broken_setup', () => ({ pid: 0 }));

FIXTURE_SETUP(broken, () => {
  TH_LOG('setup');
  ASSERT_NE(0, 0);
});

FIXTURE_TEARDOWN(broken, () => {
  TH_LOG('teardown must not run after a failed setup');
});

TEST_F(broken, 'never_runs', () => {
  TH_LOG('never printed');
});

const optional = FIXTURE('optional_feature', () => ({}));

FIXTURE_SETUP(optional, () => {
  SKIP('feature %d missing', 7);
});

FIXTURE_TEARDOWN(optional, () => {
  TH_LOG('teardown must not run after a setup that skipped');
});

TEST_F(optional, 'uses_it', () => {
  TH_LOG('never printed');
});

await TEST_HARNESS_MAIN();
