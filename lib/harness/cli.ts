/**
 * The harness command line: test_harness_argv_check(), test_enabled() and
 * test_harness_list_tests() in kselftest_harness.h, with getopt(3)'s
 * "hlF:f:V:v:t:T:r:" parsing (GNU style: options may follow operands, short
 * options may be grouped, an option's argument may be attached).
 */
import { KSFT_FAIL, KSFT_PASS, KSFT_SKIP } from '../kselftest/codes.js';
import { getopt as libcGetopt } from '../libc/getopt.js';
import { sprintf } from '../kselftest/printf.js';
import { writeStderr } from '../kselftest/stdio.js';
import type { FixtureDef, TestDef, VariantDef } from './registry.js';

const OPTSTRING = 'hlF:f:V:v:t:T:r:';

/** One parsed option; `opt` is always a letter of OPTSTRING, `arg` set for those taking one. */
export interface HarnessOption {
  readonly opt: 'h' | 'l' | 'F' | 'f' | 'V' | 'v' | 'T' | 't' | 'r';
  readonly arg?: string;
}

export type GetoptResult = { ok: true; options: HarnessOption[] } | { ok: false; options: HarnessOption[]; error: string };

/** getopt(3) with the harness's option string; stops at the first bad option like the C loop. */
export function getopt(argv: readonly string[], prog: string): GetoptResult {
  const r = libcGetopt(argv, OPTSTRING, prog);
  // Every option libc returns is a letter of OPTSTRING.
  return r.ok ? { ok: true, options: r.options as HarnessOption[] } : { ok: false, options: r.options as HarnessOption[], error: r.error };
}

function usage(prog: string): string {
  return (
    `Usage: ${prog} [-h|-l] [-t|-T|-v|-V|-f|-F|-r name]\n` +
    '\t-h       print help\n' +
    '\t-l       list all tests\n' +
    '\n' +
    '\t-t name  include test\n' +
    '\t-T name  exclude test\n' +
    '\t-v name  include variant\n' +
    '\t-V name  exclude variant\n' +
    '\t-f name  include fixture\n' +
    '\t-F name  exclude fixture\n' +
    '\t-r name  run specified test\n' +
    '\n' +
    'Test filter options can be specified multiple times. The filtering stops\n' +
    "at the first match. For example to include all tests from variant 'bla'\n" +
    "but not test 'foo' specify '-T foo -v bla'.\n"
  );
}

/** test_harness_list_tests(): fixtures, variants and tests side by side, on stderr. */
export function listTests(fixtures: readonly FixtureDef[]): string {
  let out = '';
  fixtures.forEach((f, fi) => {
    if (fi === 0) out += sprintf('%-20s %-25s %s\n', '# FIXTURE', 'VARIANT', 'TEST');
    else out += '-'.repeat(80) + '\n';
    let vi = 0;
    let ti = 0;
    do {
      const v = f.variants[vi];
      const t = f.tests[ti];
      // C prints the name where the test cursor is still at the list head:
      // the first row, or every row of a fixture without tests.
      out += sprintf('%-20s %-25s %s\n', ti === 0 || f.tests.length === 0 ? f.name : '', v ? v.name : '', t ? t.name : '');
      vi++;
      ti++;
    } while (vi < f.variants.length || ti < f.tests.length);
  });
  return out;
}

/**
 * test_harness_argv_check(): KSFT_PASS to go on running, or the code the
 * program exits with (-l and -h: KSFT_SKIP; a bad option: KSFT_FAIL).
 */
export function argvCheck(argv: readonly string[], prog: string, fixtures: readonly FixtureDef[]): { ret: number; options: HarnessOption[] } {
  const parsed = getopt(argv, prog);
  for (const o of parsed.options) {
    if (o.opt === 'l') {
      writeStderr(listTests(fixtures));
      return { ret: KSFT_SKIP, options: parsed.options };
    }
    if (o.opt === 'h') {
      writeStderr(usage(prog));
      return { ret: KSFT_SKIP, options: parsed.options };
    }
  }
  if (!parsed.ok) {
    writeStderr(parsed.error);
    writeStderr(usage(prog));
    return { ret: KSFT_FAIL, options: parsed.options };
  }
  return { ret: KSFT_PASS, options: parsed.options };
}

/**
 * test_enabled(): the first option that matches decides (lower case
 * includes, upper case excludes; -r matches the full `f[.v].t` name). With
 * no match, a test runs only if no including option was given at all.
 */
export function testEnabled(options: readonly HarnessOption[], f: FixtureDef, v: VariantDef | undefined, t: TestDef): boolean {
  let hasPositive = false;
  const vname = v ? v.name : '';
  for (const o of options) {
    if (o.opt === 'h' || o.opt === 'l') continue;
    const include = o.opt === o.opt.toLowerCase();
    hasPositive ||= include;
    switch (o.opt.toLowerCase()) {
      case 't':
        if (t.name === o.arg) return include;
        break;
      case 'f':
        if (f.name === o.arg) return include;
        break;
      case 'v':
        if (vname === o.arg) return include;
        break;
      case 'r':
        if (o.arg === `${f.name}${vname ? '.' : ''}${vname}.${t.name}`) return true;
        break;
    }
  }
  return !hasPositive;
}
