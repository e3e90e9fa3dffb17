/**
 * ASSERT_* and EXPECT_* (kselftest_harness.h).
 *
 * A failure prints `# file:line:test:Expected <exp> (<val>) <op> <seen>
 * (<val>)` on TH_LOG_STREAM -- both expressions as written and both values
 * -- and sets the test's exit code to KSFT_FAIL. EXPECT_* then continues;
 * ASSERT_* stops the test (see sentinels.ts). The optional last argument is
 * C's `{ ... }` block after the macro: it runs only on failure, before an
 * ASSERT stops the test.
 *
 * Values compare as C would compare them after the usual conversions:
 * numbers, bigints, booleans (1/0) and null/undefined (NULL, 0) compare
 * numerically with each other; anything else compares by identity (== and
 * !=) or with the JavaScript relational operators. TRUE/FALSE on a
 * non-numeric value use its truthiness. Values print as C's %jd would print
 * them; strings and objects, which C would print as pointers, print in a
 * readable form instead.
 */
import { inspect } from 'node:util';
import { KSFT_FAIL } from '../kselftest/codes.js';
import { callSite, sourceArgs } from '../source/location.js';
import { namePair } from '../source/value_names.js';
import { thLogAt } from './log.js';
import { currentTest } from './metadata.js';
import { AssertionAbort } from './sentinels.js';
import type { Num } from '../libc/int.js';

/** C's `{ ... }` block after an ASSERT/EXPECT: runs only when the check fails, before an ASSERT stops the test. */
export type OnFailure = () => void;
type Op = '==' | '!=' | '<' | '<=' | '>' | '>=';

function numeric(v: unknown): Num | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === null || v === undefined) return 0;
  return undefined;
}

function compareNum(a: Num, b: Num): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : a === b ? 0 : NaN;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const n = typeof a === 'number' ? a : (b as number);
  if (Number.isNaN(n)) return NaN;
  if (!Number.isInteger(n)) {
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function holds(op: Op, exp: unknown, seen: unknown): boolean {
  const a = numeric(exp);
  const b = numeric(seen);
  if (a !== undefined && b !== undefined) {
    const c = compareNum(a, b);
    switch (op) {
      case '==':
        return c === 0;
      case '!=':
        return c !== 0;
      case '<':
        return c < 0;
      case '<=':
        return c <= 0;
      case '>':
        return c > 0;
      case '>=':
        return c >= 0;
    }
  }
  const x = exp as number;
  const y = seen as number;
  switch (op) {
    case '==':
      return exp === seen;
    case '!=':
      return exp !== seen;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    case '>=':
      return x >= y;
  }
}

/** A value as the failure message shows it. */
export function showValue(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '0' : String(v);
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (v === null || v === undefined) return '0';
  if (typeof v === 'string') return JSON.stringify(v);
  return inspect(v, { breakLength: Infinity, depth: 2 });
}

function fail(
  macro: string,
  self: (...args: never[]) => unknown,
  stop: boolean,
  message: (texts: string[] | undefined) => string,
  argc: number,
  onFail: OnFailure | undefined,
): void {
  const md = currentTest(macro);
  const site = callSite(self);
  thLogAt(site, md.name, message(sourceArgs(site, macro, argc)));
  md.exitCode = KSFT_FAIL;
  if (onFail) onFail();
  if (stop) throw new AssertionAbort();
}

function binary(
  macro: string,
  self: (...args: never[]) => unknown,
  stop: boolean,
  op: Op,
  exp: unknown,
  seen: unknown,
  onFail: OnFailure | undefined,
): void {
  currentTest(macro);
  if (holds(op, exp, seen)) return;
  fail(macro, self, stop, (t) => comparisonMessage(t, op, exp, seen), 2, onFail);
}

/**
 * `Expected <exp> (<val>) <op> <seen> (<val>)` as the C harness prints it;
 * an operand whose text names an errno (`r.errno`, `EINVAL`) shows the
 * name with the number, `Expected r.errno (EFAULT (14)) == EINVAL (22)`,
 * and a kind's notes follow on lines of their own.
 */
function comparisonMessage(t: string[] | undefined, op: Op, exp: unknown, seen: unknown): string {
  const ta = t?.[0] ?? showValue(exp);
  const tb = t?.[1] ?? showValue(seen);
  const named = t ? namePair(t[0], exp, t[1], seen) : undefined;
  // The operand that is the constant itself (`EINVAL`) keeps the bare number.
  const value = (text: string, v: unknown, shown: string | undefined): string =>
    shown === undefined || shown.startsWith(`${text.trim()} (`) ? showValue(v) : shown;
  const line = `Expected ${ta} (${value(ta, exp, named?.a)}) ${op} ${tb} (${value(tb, seen, named?.b)})`;
  return [line, ...(named?.notes ?? [])].join('\n');
}

function unary(
  macro: string,
  self: (...args: never[]) => unknown,
  stop: boolean,
  kind: 'NULL' | 'TRUE' | 'FALSE',
  seen: unknown,
  onFail: OnFailure | undefined,
): void {
  currentTest(macro);
  let ok: boolean;
  const n = numeric(seen);
  if (kind === 'NULL') ok = seen === null || seen === undefined || (n !== undefined && compareNum(n, 0) === 0);
  else if (n === undefined) ok = kind === 'TRUE' ? Boolean(seen) : !seen;
  else ok = kind === 'TRUE' ? compareNum(n, 0) !== 0 : compareNum(n, 0) === 0;
  if (ok) return;
  const expStr = kind === 'NULL' ? 'NULL' : '0';
  const op = kind === 'TRUE' ? '!=' : '==';
  fail(macro, self, stop, (t) => `Expected ${expStr} (0) ${op} ${t?.[0] ?? showValue(seen)} (${showValue(seen)})`, 1, onFail);
}

function str(
  macro: string,
  self: (...args: never[]) => unknown,
  stop: boolean,
  op: '==' | '!=',
  exp: string,
  seen: string,
  onFail: OnFailure | undefined,
): void {
  currentTest(macro);
  if ((exp === seen) === (op === '==')) return;
  fail(macro, self, stop, () => `Expected '${exp}' ${op} '${seen}'.`, 2, onFail);
}

/**
 * ASSERT_EQ: expected == seen, else the failure line and the test stops (the rest of the body is skipped, the teardown runs).
 * The line has both expressions as written and both values, errno values by name:
 * `Expected r.errno (EINVAL (22)) == EFAULT (14)`.
 */
export function ASSERT_EQ(expected: unknown, seen: unknown, onFail?: OnFailure): void {
  binary('ASSERT_EQ', ASSERT_EQ, true, '==', expected, seen, onFail);
}
/** ASSERT_NE: expected != seen, else the failure line and the test stops (the rest of the body is skipped, the teardown runs). */
export function ASSERT_NE(expected: unknown, seen: unknown, onFail?: OnFailure): void {
  binary('ASSERT_NE', ASSERT_NE, true, '!=', expected, seen, onFail);
}
/** ASSERT_LT: expected < seen, else the failure line and the test stops (the rest of the body is skipped, the teardown runs). */
export function ASSERT_LT(expected: unknown, seen: unknown, onFail?: OnFailure): void {
  binary('ASSERT_LT', ASSERT_LT, true, '<', expected, seen, onFail);
}
/** ASSERT_LE: expected <= seen, else the failure line and the test stops (the rest of the body is skipped, the teardown runs). */
export function ASSERT_LE(expected: unknown, seen: unknown, onFail?: OnFailure): void {
  binary('ASSERT_LE', ASSERT_LE, true, '<=', expected, seen, onFail);
}
/** ASSERT_GT: expected > seen, else the failure line and the test stops (the rest of the body is skipped, the teardown runs). */
export function ASSERT_GT(expected: unknown, seen: unknown, onFail?: OnFailure): void {
  binary('ASSERT_GT', ASSERT_GT, true, '>', expected, seen, onFail);
}
/** ASSERT_GE: expected >= seen, else the failure line and the test stops (the rest of the body is skipped, the teardown runs). */
export function ASSERT_GE(expected: unknown, seen: unknown, onFail?: OnFailure): void {
  binary('ASSERT_GE', ASSERT_GE, true, '>=', expected, seen, onFail);
}
/** ASSERT_NULL: seen is NULL (null, undefined or 0), else the failure line and the test stops (the rest of the body is skipped, the teardown runs). */
export function ASSERT_NULL(seen: unknown, onFail?: OnFailure): void {
  unary('ASSERT_NULL', ASSERT_NULL, true, 'NULL', seen, onFail);
}
/** ASSERT_TRUE: seen is true (non-zero), else the failure line and the test stops (the rest of the body is skipped, the teardown runs). */
export function ASSERT_TRUE(seen: unknown, onFail?: OnFailure): void {
  unary('ASSERT_TRUE', ASSERT_TRUE, true, 'TRUE', seen, onFail);
}
/** ASSERT_FALSE: seen is false (zero), else the failure line and the test stops (the rest of the body is skipped, the teardown runs). */
export function ASSERT_FALSE(seen: unknown, onFail?: OnFailure): void {
  unary('ASSERT_FALSE', ASSERT_FALSE, true, 'FALSE', seen, onFail);
}
/** ASSERT_STREQ: the two strings are equal, else the failure line and the test stops (the rest of the body is skipped, the teardown runs). */
export function ASSERT_STREQ(expected: string, seen: string, onFail?: OnFailure): void {
  str('ASSERT_STREQ', ASSERT_STREQ, true, '==', expected, seen, onFail);
}
/** ASSERT_STRNE: the two strings differ, else the failure line and the test stops (the rest of the body is skipped, the teardown runs). */
export function ASSERT_STRNE(expected: string, seen: string, onFail?: OnFailure): void {
  str('ASSERT_STRNE', ASSERT_STRNE, true, '!=', expected, seen, onFail);
}

/** EXPECT_EQ: expected == seen, else the failure line and the test goes on (it fails at the end). */
export function EXPECT_EQ(expected: unknown, seen: unknown, onFail?: OnFailure): void {
  binary('EXPECT_EQ', EXPECT_EQ, false, '==', expected, seen, onFail);
}
/** EXPECT_NE: expected != seen, else the failure line and the test goes on (it fails at the end). */
export function EXPECT_NE(expected: unknown, seen: unknown, onFail?: OnFailure): void {
  binary('EXPECT_NE', EXPECT_NE, false, '!=', expected, seen, onFail);
}
/** EXPECT_LT: expected < seen, else the failure line and the test goes on (it fails at the end). */
export function EXPECT_LT(expected: unknown, seen: unknown, onFail?: OnFailure): void {
  binary('EXPECT_LT', EXPECT_LT, false, '<', expected, seen, onFail);
}
/** EXPECT_LE: expected <= seen, else the failure line and the test goes on (it fails at the end). */
export function EXPECT_LE(expected: unknown, seen: unknown, onFail?: OnFailure): void {
  binary('EXPECT_LE', EXPECT_LE, false, '<=', expected, seen, onFail);
}
/** EXPECT_GT: expected > seen, else the failure line and the test goes on (it fails at the end). */
export function EXPECT_GT(expected: unknown, seen: unknown, onFail?: OnFailure): void {
  binary('EXPECT_GT', EXPECT_GT, false, '>', expected, seen, onFail);
}
/** EXPECT_GE: expected >= seen, else the failure line and the test goes on (it fails at the end). */
export function EXPECT_GE(expected: unknown, seen: unknown, onFail?: OnFailure): void {
  binary('EXPECT_GE', EXPECT_GE, false, '>=', expected, seen, onFail);
}
/** EXPECT_NULL: seen is NULL (null, undefined or 0), else the failure line and the test goes on (it fails at the end). */
export function EXPECT_NULL(seen: unknown, onFail?: OnFailure): void {
  unary('EXPECT_NULL', EXPECT_NULL, false, 'NULL', seen, onFail);
}
/** EXPECT_TRUE: seen is true (non-zero), else the failure line and the test goes on (it fails at the end). */
export function EXPECT_TRUE(seen: unknown, onFail?: OnFailure): void {
  unary('EXPECT_TRUE', EXPECT_TRUE, false, 'TRUE', seen, onFail);
}
/** EXPECT_FALSE: seen is false (zero), else the failure line and the test goes on (it fails at the end). */
export function EXPECT_FALSE(seen: unknown, onFail?: OnFailure): void {
  unary('EXPECT_FALSE', EXPECT_FALSE, false, 'FALSE', seen, onFail);
}
/** EXPECT_STREQ: the two strings are equal, else the failure line and the test goes on (it fails at the end). */
export function EXPECT_STREQ(expected: string, seen: string, onFail?: OnFailure): void {
  str('EXPECT_STREQ', EXPECT_STREQ, false, '==', expected, seen, onFail);
}
/** EXPECT_STRNE: the two strings differ, else the failure line and the test goes on (it fails at the end). */
export function EXPECT_STRNE(expected: string, seen: string, onFail?: OnFailure): void {
  str('EXPECT_STRNE', EXPECT_STRNE, false, '!=', expected, seen, onFail);
}
