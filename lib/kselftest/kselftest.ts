/**
 * The low-level kselftest TAP API (tools/testing/selftests/kselftest.h).
 *
 * Same calls, same bytes: formats are printf formats passed through
 * unchanged, a newline is added only where C adds one
 * (ksft_test_result_code(), ksft_perror()), the counters and the plan are
 * process-wide like C's file-static `ksft_cnt` and `ksft_plan`, and the exit
 * helpers print the counts and end the process with the KSFT_* code.
 *
 * C reads the global `errno` in ksft_perror() and ksft_exit_fail_perror();
 * here the caller passes the errno value (raw calls in this project return
 * `{ ret, errno }`).
 */
import { strerror } from '../libc/errno.js';
import { KSFT_FAIL, KSFT_PASS, KSFT_SKIP, KSFT_XFAIL, KSFT_XPASS } from './codes.js';
import { vsprintf, type PrintfArg } from './printf.js';
import { writeStdout } from './stdio.js';
import { mapUncaughtStacks } from '../source/uncaught.js';

// A test program's uncaught exception names .ts lines (lib/source/uncaught.ts).
mapUncaughtStacks();

interface Counts {
  pass: number;
  fail: number;
  xfail: number;
  xpass: number;
  xskip: number;
  error: number;
}

const cnt: Counts = { pass: 0, fail: 0, xfail: 0, xpass: 0, xskip: 0, error: 0 };
let plan = 0;

/** The test number is the sum of every counter: results increment first, then print it. */
export function ksftTestNum(): number {
  return cnt.pass + cnt.fail + cnt.xfail + cnt.xpass + cnt.xskip + cnt.error;
}

/** ksft_inc_pass_cnt(): count one pass without printing a result line. */
export function ksftIncPassCnt(): void {
  cnt.pass++;
}
/** ksft_inc_fail_cnt(): count one fail without printing a result line. */
export function ksftIncFailCnt(): void {
  cnt.fail++;
}
/** ksft_inc_xfail_cnt(): count one xfail without printing a result line. */
export function ksftIncXfailCnt(): void {
  cnt.xfail++;
}
/** ksft_inc_xpass_cnt(): count one xpass without printing a result line. */
export function ksftIncXpassCnt(): void {
  cnt.xpass++;
}
/** ksft_inc_xskip_cnt(): count one skip without printing a result line. */
export function ksftIncXskipCnt(): void {
  cnt.xskip++;
}
/** ksft_inc_error_cnt(): count one error without printing a result line. */
export function ksftIncErrorCnt(): void {
  cnt.error++;
}

/** ksft_get_pass_cnt(): the pass counter. */
export function ksftGetPassCnt(): number {
  return cnt.pass;
}
/** ksft_get_fail_cnt(): the fail counter. */
export function ksftGetFailCnt(): number {
  return cnt.fail;
}
/** ksft_get_xfail_cnt(): the xfail counter. */
export function ksftGetXfailCnt(): number {
  return cnt.xfail;
}
/** ksft_get_xpass_cnt(): the xpass counter. */
export function ksftGetXpassCnt(): number {
  return cnt.xpass;
}
/** ksft_get_xskip_cnt(): the skip counter. */
export function ksftGetXskipCnt(): number {
  return cnt.xskip;
}
/** ksft_get_error_cnt(): the error counter. */
export function ksftGetErrorCnt(): number {
  return cnt.error;
}
/** ksft_get_plan(): the planned number of tests (0 before ksftSetPlan()). */
export function ksftGetPlan(): number {
  return plan;
}

/**
 * `TAP version 13`, unless KSFT_TAP_LEVEL is set: the runner sets it when it
 * already printed a header for the enclosing stream.
 */
export function ksftPrintHeader(): void {
  if (!process.env.KSFT_TAP_LEVEL) writeStdout('TAP version 13\n');
}

/** ksft_set_plan(n): print the plan line `1..n` (once). */
export function ksftSetPlan(n: number): void {
  plan = n;
  writeStdout(`1..${n}\n`);
}

/** ksft_print_cnts(): the `# Totals: pass:N fail:N ...` line (and a plan mismatch note). */
export function ksftPrintCnts(): void {
  if (plan !== ksftTestNum()) writeStdout(`# Planned tests != run tests (${plan} != ${ksftTestNum()})\n`);
  writeStdout(
    `# Totals: pass:${cnt.pass} fail:${cnt.fail} xfail:${cnt.xfail} xpass:${cnt.xpass} skip:${cnt.xskip} error:${cnt.error}\n`,
  );
}

/** `# ` + fmt; the caller supplies the newline. */
export function ksftPrintMsg(fmt: string, ...args: PrintfArg[]): void {
  writeStdout('# ' + vsprintf(fmt, args));
}

/** `# msg: strerror (errno)` */
export function ksftPerror(msg: string, errno: number): void {
  ksftPrintMsg('%s: %s (%d)\n', msg, strerror(errno), errno);
}

/** ksft_test_result_pass(fmt, ...): `ok N <msg>`. */
export function ksftTestResultPass(fmt: string, ...args: PrintfArg[]): void {
  cnt.pass++;
  writeStdout(`ok ${ksftTestNum()} ` + vsprintf(fmt, args));
}

/** ksft_test_result_fail(fmt, ...): `not ok N <msg>`. */
export function ksftTestResultFail(fmt: string, ...args: PrintfArg[]): void {
  cnt.fail++;
  writeStdout(`not ok ${ksftTestNum()} ` + vsprintf(fmt, args));
}

/** ksft_test_result_xfail(fmt, ...): `ok N # XFAIL <msg>`. */
export function ksftTestResultXfail(fmt: string, ...args: PrintfArg[]): void {
  cnt.xfail++;
  writeStdout(`ok ${ksftTestNum()} # XFAIL ` + vsprintf(fmt, args));
}

/** ksft_test_result_xpass(fmt, ...): `ok N # XPASS <msg>`. */
export function ksftTestResultXpass(fmt: string, ...args: PrintfArg[]): void {
  cnt.xpass++;
  writeStdout(`ok ${ksftTestNum()} # XPASS ` + vsprintf(fmt, args));
}

/** ksft_test_result_skip(fmt, ...): `ok N # SKIP <msg>`. */
export function ksftTestResultSkip(fmt: string, ...args: PrintfArg[]): void {
  cnt.xskip++;
  writeStdout(`ok ${ksftTestNum()} # SKIP ` + vsprintf(fmt, args));
}

/** ksft_test_result_error(fmt, ...): `not ok N # error <msg>`. */
export function ksftTestResultError(fmt: string, ...args: PrintfArg[]): void {
  cnt.error++;
  writeStdout(`not ok ${ksftTestNum()} # error ` + vsprintf(fmt, args));
}

/** Pass if `cond` is truthy, else fail (the ksft_test_result() macro). */
export function ksftTestResult(cond: unknown, fmt: string, ...args: PrintfArg[]): void {
  if (cond) ksftTestResultPass(fmt, ...args);
  else ksftTestResultFail(fmt, ...args);
}

/**
 * Report a KSFT_* code through the matching result call. Like the C switch,
 * a code outside PASS/FAIL/XFAIL/XPASS/SKIP reports nothing.
 */
export function ksftTestResultReport(rc: number, fmt: string, ...args: PrintfArg[]): void {
  switch (rc) {
    case KSFT_PASS:
      ksftTestResultPass(fmt, ...args);
      break;
    case KSFT_FAIL:
      ksftTestResultFail(fmt, ...args);
      break;
    case KSFT_XFAIL:
      ksftTestResultXfail(fmt, ...args);
      break;
    case KSFT_XPASS:
      ksftTestResultXpass(fmt, ...args);
      break;
    case KSFT_SKIP:
      ksftTestResultSkip(fmt, ...args);
      break;
  }
}

/**
 * `ok N name`, `not ok N name`, or `ok N name # SKIP|XFAIL|XPASS msg`, with a
 * newline appended. A PASS or FAIL that carries a message gets the directive
 * `" #  "` (hash and two spaces); an unknown code counts as FAIL. `fmt` null
 * is C's NULL msg: no directive and no message.
 */
export function ksftTestResultCode(rc: number, testName: string, fmt: string | null, ...args: PrintfArg[]): void {
  let tapCode = 'ok';
  let directive = '';
  switch (rc) {
    case KSFT_PASS:
      cnt.pass++;
      break;
    case KSFT_XFAIL:
      directive = ' # XFAIL ';
      cnt.xfail++;
      break;
    case KSFT_XPASS:
      directive = ' # XPASS ';
      cnt.xpass++;
      break;
    case KSFT_SKIP:
      directive = ' # SKIP ';
      cnt.xskip++;
      break;
    default:
      tapCode = 'not ok';
      cnt.fail++;
      break;
  }
  if (directive === '' && fmt !== null) directive = ' #  ';
  writeStdout(`${tapCode} ${ksftTestNum()} ${testName}${directive}` + (fmt !== null ? vsprintf(fmt, args) : '') + '\n');
}

function exitWith(code: number): never {
  process.exit(code);
}

/** ksft_exit_pass(): the totals, exit 0. */
export function ksftExitPass(): never {
  ksftPrintCnts();
  return exitWith(KSFT_PASS);
}

/** ksft_exit_fail(): the totals, exit 1. */
export function ksftExitFail(): never {
  ksftPrintCnts();
  return exitWith(KSFT_FAIL);
}

/** ksft_exit(cond): ksftExitPass() if `cond`, else ksftExitFail(). */
export function ksftExit(cond: unknown): never {
  return cond ? ksftExitPass() : ksftExitFail();
}

/** Exit 0 iff every planned test passed, xfailed or skipped. */
export function ksftFinished(): never {
  return ksftExit(plan === cnt.pass + cnt.xfail + cnt.xskip);
}

/** ksft_exit_fail_msg(fmt, ...): `Bail out! <msg>`, the totals, exit 1. */
export function ksftExitFailMsg(fmt: string, ...args: PrintfArg[]): never {
  writeStdout('Bail out! ' + vsprintf(fmt, args));
  ksftPrintCnts();
  return exitWith(KSFT_FAIL);
}

/** `Bail out! msg: strerror (errno)` */
export function ksftExitFailPerror(msg: string, errno: number): never {
  return ksftExitFailMsg('%s: %s (%d)\n', msg, strerror(errno), errno);
}

/** ksft_exit_xfail(): the totals, exit 2. */
export function ksftExitXfail(): never {
  ksftPrintCnts();
  return exitWith(KSFT_XFAIL);
}

/** ksft_exit_xpass(): the totals, exit 3. */
export function ksftExitXpass(): never {
  ksftPrintCnts();
  return exitWith(KSFT_XPASS);
}

let skipHook: ((reason: string) => never) | undefined;

/**
 * Route program-level skips (ksft_exit_skip(), so kvm_util's TEST_REQUIRE)
 * elsewhere while a kselftest_harness TEST runs in this process: the
 * harness reports that one test as `ok N name # SKIP reason`, where C's
 * child would print a stray `1..0 # SKIP` plan line mid-stream and lose
 * the reason. The kselftest layer knows only the hook, not the harness.
 */
export function setKsftExitSkipHook(hook: ((reason: string) => never) | undefined): void {
  skipHook = hook;
}

/**
 * Skip the whole program. Before any plan or result this is `1..0 # SKIP
 * msg` with no counts. Afterwards C counts the skip and then prints
 * `ok <test number + 1> # SKIP msg`, the number taken after the increment
 * (so one past the skip's own position, exactly as kselftest.h prints it),
 * followed by the counts.
 */
export function ksftExitSkip(fmt: string | null, ...args: PrintfArg[]): never {
  if (skipHook) {
    // kvm_util's "- <reason>\n" shape is for the plan line; a result line takes the reason alone.
    return skipHook((fmt === null ? '' : vsprintf(fmt, args)).replace(/^- /, '').replace(/\n+$/, ''));
  }
  if (plan || ksftTestNum()) {
    cnt.xskip++;
    writeStdout(`ok ${1 + ksftTestNum()} # SKIP `);
  } else {
    writeStdout('1..0 # SKIP ');
  }
  if (fmt !== null) writeStdout(vsprintf(fmt, args));
  if (ksftTestNum()) ksftPrintCnts();
  return exitWith(KSFT_SKIP);
}
