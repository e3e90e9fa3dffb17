/**
 * The command-line helpers of tools/testing/selftests/kvm/include/test_util.h
 * that the ported tests use: atoi_paranoid() and its positive and
 * non-negative forms (strtol base 0, the whole word, an int), and
 * parse_backing_src_type() for `-s`. getopt() is the libc parser
 * (lib/libc/getopt.ts); a test's loop prints its message and then its usage.
 */
import { getopt, type GetoptOption, type GetoptResult } from '../libc/getopt.js';
import { TEST_ASSERT, TEST_FAIL } from './assert.js';
import { writeStdout } from './ksft.js';
import { BACKING_SRC_NAMES, SUPPORTED_BACKING_SRCS, type BackingSrc } from './memslots.js';

export { getopt, type GetoptOption, type GetoptResult };

/**
 * C's `while ((opt = getopt(argc, argv, optstring)) != -1)`: the options in
 * order; at a bad one glibc's message goes to stderr and the loop gets '?',
 * which a test's default case answers with its usage.
 */
export function* getoptLoop(argv: readonly string[], optstring: string, prog: string): Generator<GetoptOption> {
  const r = getopt(argv, optstring, prog);
  yield* r.options;
  if (!r.ok) {
    process.stderr.write(r.error);
    yield { opt: '?' };
  }
}

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

/** strtol(s, &end, 0) on a JS string: [value, index where parsing stopped]; value NaN when no digits were read. */
function strtol0(s: string): [number, number] {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (!m) return [Number.NaN, 0];
  const digits = m[2]!;
  const base = /^0[xX]/.test(digits) ? 16 : digits.length > 1 && digits.startsWith('0') ? 8 : 10;
  const abs = Number.parseInt(base === 16 ? digits.slice(2) : digits, base);
  return [m[1] === '-' ? -abs : abs, m[0].length];
}

/** atoi_paranoid(): the whole of `numStr` as an int, else the test fails saying what was wrong. */
export function atoiParanoid(numStr: string): number {
  const [num, end] = strtol0(numStr);
  TEST_ASSERT(!Number.isNaN(num), `strtol("${numStr}") didn't find a valid integer.`);
  TEST_ASSERT(end === numStr.length, `strtol("${numStr}") failed to parse trailing characters "${numStr.slice(end)}".`);
  TEST_ASSERT(num >= INT_MIN && num <= INT_MAX, `${num} not in range of [${INT_MIN}, ${INT_MAX}]`);
  return num;
}

/** atoi_positive(name, str): `name` names the value in the failure. */
export function atoiPositive(name: string, numStr: string): number {
  const num = atoiParanoid(numStr);
  TEST_ASSERT(num > 0, `${name} must be greater than 0, got '${numStr}'`);
  return num;
}

/** atoi_non_negative(name, str). */
export function atoiNonNegative(name: string, numStr: string): number {
  const num = atoiParanoid(numStr);
  TEST_ASSERT(num >= 0, `${name} must be non-negative, got '${numStr}'`);
  return num;
}

/** backing_src_help(): the list `-s` takes, as a test's usage prints it. */
export function backingSrcHelp(): string {
  return `     Available backing src types:\n${SUPPORTED_BACKING_SRCS.map((s) => `         ${s}\n`).join('')}`;
}

/**
 * parse_backing_src_type(): a name of the list, else C's failure (the list,
 * then `Unknown backing src type`). A hugetlb kind, which C knows but this
 * build cannot back, is refused with one line and exit 1.
 */
export function parseBackingSrcType(name: string): BackingSrc {
  if ((SUPPORTED_BACKING_SRCS as readonly string[]).includes(name)) return name as BackingSrc;
  if ((BACKING_SRC_NAMES as readonly string[]).includes(name)) {
    process.stderr.write(`-s ${name}: backing src type not supported by this build (available: ${SUPPORTED_BACKING_SRCS.join(', ')})\n`);
    process.exit(1);
  }
  writeStdout(`Available backing src types:\n${SUPPORTED_BACKING_SRCS.map((s) => `    ${s}\n`).join('')}`);
  TEST_FAIL(`Unknown backing src type: ${name}`);
}
