/**
 * The running test's `struct __test_metadata`, as far as the test process
 * needs it: the name TH_LOG prints, the exit code EXPECT/ASSERT/SKIP set and
 * the SKIP reason. Each test runs in its own process, so one module-level
 * "current test" plays the role of C's implicit `_metadata` argument.
 */
import { KSFT_PASS } from '../kselftest/codes.js';

export interface TestMetadata {
  /** The bare test name (`fail`, not `fixture.fail`): what TH_LOG prints. */
  readonly name: string;
  exitCode: number;
  /** results->reason: set by SKIP, shown as the TAP directive text. */
  reason: string;
  /** Called after `reason` changes, so the harness process can see it. */
  readonly onReason: () => void;
}

let current: TestMetadata | undefined;

export function newMetadata(name: string, onReason: () => void = () => {}): TestMetadata {
  return { name, exitCode: KSFT_PASS, reason: '', onReason };
}

export function setCurrentTest(md: TestMetadata | undefined): void {
  current = md;
}

/** The current test; using a harness macro outside one is a programming error. */
export function currentTest(macro: string): TestMetadata {
  if (!current) throw new Error(`kselftest_harness: ${macro} used outside a TEST()/TEST_F() body, setup or teardown`);
  return current;
}
