/**
 * TH_LOG() and SKIP() (kselftest_harness.h).
 */
import { KSFT_SKIP } from '../kselftest/codes.js';
import { vsprintf, type PrintfArg } from '../kselftest/printf.js';
import { writeFd } from '../kselftest/stdio.js';
import { thLogFd } from './config.js';
import { callSite, type CallSite } from '../source/location.js';
import { currentTest } from './metadata.js';
import { SkipReturn } from './sentinels.js';

/** `# file:line:test:` + msg + newline on TH_LOG_STREAM (C's __TH_LOG). */
export function thLogAt(site: CallSite | undefined, testName: string, msg: string): void {
  const where = site ? `${site.file}:${site.line}` : '?:0';
  writeFd(thLogFd(), `# ${where}:${testName}:${msg}\n`);
}

/** TH_LOG(fmt, ...): a diagnostic tagged with this file, line and test name. */
export function TH_LOG(fmt: string, ...args: PrintfArg[]): void {
  const md = currentTest('TH_LOG');
  thLogAt(callSite(TH_LOG), md.name, vsprintf(fmt, args));
}

/**
 * SKIP(statement, fmt, ...) with `return` as the statement: records the
 * reason, prints `#      SKIP      <reason>`, sets the exit code to KSFT_SKIP
 * and ends the current test body, setup or teardown. C truncates the reason
 * to its 1024-byte buffer; so does this.
 */
export function SKIP(fmt: string, ...args: PrintfArg[]): never {
  const md = currentTest('SKIP');
  md.reason = vsprintf(fmt, args).slice(0, 1023);
  writeFd(thLogFd(), `#      SKIP      ${md.reason}\n`);
  md.exitCode = KSFT_SKIP;
  md.onReason();
  throw new SkipReturn();
}
