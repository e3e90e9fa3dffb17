/**
 * TEST_ASSERT and friends, printing what tools/testing/selftests/kvm/lib/assert.c
 * prints: the `==== Test Assertion Failure ====` block on stderr with the
 * caller's file:line and condition text, `pid= tid= errno= - strerror`, a
 * short stack and the message, then exit(254). errno == EACCES means the
 * environment refused us, not that KVM misbehaved: print_skip() and exit 4.
 *
 * The condition text is the source text of the first argument (C's `#cond`),
 * read from the test's .ts file at the caller's line.
 */
import { EACCES, strerror } from '../kvm/errno.js';
import { callArgumentTexts, currentStack, displayPath, frameOutside, type StackFrame } from '../guest/source_loc.js';
import { getErrno } from './errno_state.js';
import { ksftExitSkip, writeStderr, writeStdout } from './ksft.js';
import { namePair } from '../source/value_names.js';
import { testFrames } from '../source/location.js';

/** exit(4): the kselftest skip status (KSFT_SKIP in kselftest.h). */
export const KSFT_SKIP = 4;
/** exit(254): what a failed TEST_ASSERT returns to the runner. */
export const TEST_ASSERT_EXIT = 254;

const SELF = ['lib/kvm_util/assert.ts', 'lib/guest/source_loc.ts'];
const STACK_DEPTH = 6;

/** Where a failure is reported: a file:line, and the frames to print below it. */
export interface FailureSite {
  readonly file: string;
  readonly line: number;
  readonly frames: readonly StackFrame[];
}

/** The site of the call into this module (or of the frame `skip` levels above it). */
export function failureSite(extraSelf: readonly string[] = []): FailureSite {
  const frames = currentStack().filter((f) => !SELF.some((s) => f.file.endsWith(s)));
  const outside = frameOutside(frames, ...extraSelf);
  const at = outside ?? frames[0];
  const idx = at ? frames.indexOf(at) : 0;
  return { file: at?.file ?? '<unknown>', line: at?.line ?? 0, frames: frames.slice(idx) };
}

/** C's `#arg` for argument `i` of `callee` at the site, or `fallback`. */
export function argText(site: FailureSite, callee: string, i: number, fallback: string): string {
  return callArgumentTexts(site.file, site.line, callee)?.[i] ?? fallback;
}

/** Hook for tests of this module: replaces process.exit. */
let exitHook: (code: number) => never = (code) => process.exit(code);
/** Replace process.exit for the failure paths (tests of this module only). */
export function setAssertExit(fn: (code: number) => never): void {
  exitHook = fn;
}

/** C's backtrace of the failure: the test's frames and the library calls it made, not the harness's machinery. */
function formatStack(frames: readonly StackFrame[]): string {
  return testFrames(frames)
    .slice(0, STACK_DEPTH)
    .map((f, i) => `     ${i + 1}\t${f.func} at ${displayPath(f.file)}:${f.line}\n`)
    .join('');
}

/**
 * test_assert(): print the block and exit. `expr` is the condition text;
 * `message` the formatted message (may span lines, as in C).
 */
export function testAssertFail(site: { file: string; line: number; frames?: readonly StackFrame[] }, expr: string, message?: string): never {
  const errno = getErrno();
  if (errno === EACCES) {
    writeStdout('Access denied - Exiting, skipping test\n');
    return exitHook(KSFT_SKIP);
  }
  let out = '==== Test Assertion Failure ====\n';
  out += `  ${displayPath(site.file)}:${site.line}: ${expr}\n`;
  out += `  pid=${process.pid} tid=${process.pid} errno=${errno} - ${strerror(errno)}\n`;
  out += formatStack(site.frames ?? []);
  if (message !== undefined) out += `  ${message}\n`;
  writeStderr(out);
  return exitHook(TEST_ASSERT_EXIT);
}

/** TEST_ASSERT(cond, fmt...): on failure, the assertion block and exit 254. */
export function TEST_ASSERT(cond: unknown, message?: string): asserts cond {
  if (cond) return;
  const site = failureSite();
  testAssertFail(site, argText(site, 'TEST_ASSERT', 0, String(cond)), message);
}

/** `%#lx` of printf: `0` for zero, `0x...` otherwise (negative values as u64, as the C cast does). */
export function hexLx(v: bigint | number | boolean): string {
  const n = BigInt.asUintN(64, typeof v === 'boolean' ? (v ? 1n : 0n) : BigInt(v));
  return n === 0n ? '0' : `0x${n.toString(16)}`;
}

/**
 * TEST_ASSERT_EQ(a, b): `a == b` as the condition, `%#lx != %#lx (a != b)`
 * as the message; where an operand's text says what the number is, by
 * name: `EINVAL (22) != EFAULT (14) (r.errno != EFAULT)`, likewise exit
 * reasons (`KVM_EXIT_MMIO (6)`) and ucall commands (`UCALL_NONE (0)`, with
 * the exit that was not a ucall).
 *
 * @example
 * ```ts
 * const { vm, gpa } = cocoVmCreate('sw_protected', undefined);
 * const r = __vmSetMemoryAttributes(vm, gpa, 4096, 1n << 2n);
 * TEST_ASSERT_EQ(r.errno, EINVAL); // only KVM_MEMORY_ATTRIBUTE_PRIVATE is supported
 * ```
 */
export function TEST_ASSERT_EQ(a: bigint | number | boolean, b: bigint | number | boolean): void {
  const eq = typeof a === typeof b ? a === b : BigInt(a as number) === BigInt(b as number);
  if (eq) return;
  const site = failureSite();
  const args = callArgumentTexts(site.file, site.line, 'TEST_ASSERT_EQ');
  const ta = args?.[0] ?? String(a);
  const tb = args?.[1] ?? String(b);
  const named = args ? namePair(ta, a, tb, b) : undefined;
  const values = named ? `${named.a} != ${named.b}` : `${hexLx(a)} != ${hexLx(b)}`;
  const notes = (named?.notes ?? []).map((n) => `\n  ${n}`).join('');
  testAssertFail(site, `${ta} == ${tb}`, `${values} (${ta} != ${tb})${notes}`);
}

/** TEST_FAIL(fmt...): test_assert(false, "Failed", ...). */
export function TEST_FAIL(message: string): never {
  return testAssertFail(failureSite(), 'Failed', message);
}

/**
 * __TEST_REQUIRE(cond, fmt): ksft_exit_skip("- " fmt "\n"). Before any plan
 * that is `1..0 # SKIP - <text>` and exit 4.
 */
export function __TEST_REQUIRE(cond: unknown, text: string): asserts cond {
  if (cond) return;
  ksftExitSkip('%s', `- ${text}\n`);
}

/** TEST_REQUIRE(cond, text): `Requirement not met: <text>`; `text` is C's `#cond`. */
export function TEST_REQUIRE(cond: unknown, text: string): asserts cond {
  if (cond) return;
  ksftExitSkip('%s', `- Requirement not met: ${text}\n`);
}

/** KVM_IOCTL_ERROR(cmd, ret): `<NAME> failed, rc: <ret> errno: <e> (<strerror>)`. */
export function KVM_IOCTL_ERROR(name: string, ret: number, errno = getErrno()): string {
  return `${name} failed, rc: ${ret} errno: ${errno} (${strerror(errno)})`;
}

/**
 * TEST_ASSERT with an explicit condition text, reported at the first frame
 * outside `extraSelf` (files whose frames stand for the macro expansion, as
 * kvm_util.h's ioctl macros expand in their caller).
 */
export function testAssertAt(cond: unknown, expr: string, message: string | undefined, extraSelf: readonly string[] = []): asserts cond {
  if (cond) return;
  testAssertFail(failureSite(extraSelf), expr, message);
}
