/**
 * Control flow that C does with abort() and `return`.
 *
 * A failed ASSERT_* must stop the test even inside an async body, several
 * awaits deep. It throws AssertionAbort; the test process catches it at the
 * top, runs the teardown once and then raises SIGABRT on itself, so the
 * harness sees exactly what C's `__bail()` + abort() produce. SKIP() throws
 * SkipReturn, which ends the body like the `return` statement C callers pass
 * to SKIP(). Code that catches exceptions inside a test must rethrow these.
 */
const BRAND = Symbol.for('ksft-coco.harness.sentinel');

export class AssertionAbort extends Error {
  readonly [BRAND] = 'assert';
  constructor() {
    super('ASSERT_* failed: the test stops here (rethrow this if you catch it)');
    this.name = 'AssertionAbort';
  }
}

export class SkipReturn extends Error {
  readonly [BRAND] = 'skip';
  constructor() {
    super('SKIP(): the test returns here (rethrow this if you catch it)');
    this.name = 'SkipReturn';
  }
}

/** Whether `e` is the harness's own stop after a failed ASSERT (rethrow it from a catch). */
export function isAssertionAbort(e: unknown): e is AssertionAbort {
  return typeof e === 'object' && e !== null && (e as { [BRAND]?: string })[BRAND] === 'assert';
}

/** Whether `e` is the harness's own end of a body after SKIP() (rethrow it from a catch). */
export function isSkipReturn(e: unknown): e is SkipReturn {
  return typeof e === 'object' && e !== null && (e as { [BRAND]?: string })[BRAND] === 'skip';
}
