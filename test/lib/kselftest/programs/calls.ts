/**
 * One kselftest.h call sequence per scenario (argv[2]), so the tests can
 * compare the exact bytes and exit status of each sequence.
 */
import * as k from '../../../../lib/kselftest/index.js';

const scenarios: Record<string, () => void> = {
  header_plan() {
    k.ksftPrintHeader();
    k.ksftSetPlan(3);
    k.ksftExitPass();
  },
  every_result() {
    k.ksftPrintHeader();
    k.ksftSetPlan(7);
    k.ksftTestResultPass('a\n');
    k.ksftTestResultFail('b %d\n', 2);
    k.ksftTestResultXfail('c\n');
    k.ksftTestResultXpass('d\n');
    k.ksftTestResultSkip('e %s\n', 'why');
    k.ksftTestResultError('f\n');
    k.ksftTestResult(0, 'g\n');
    k.ksftFinished();
  },
  no_newline_added() {
    k.ksftSetPlan(2);
    k.ksftTestResultPass('x');
    k.ksftTestResultPass('y\n');
    k.ksftFinished();
  },
  result_code() {
    k.ksftSetPlan(8);
    k.ksftTestResultCode(k.KSFT_PASS, 'n1', '');
    k.ksftTestResultCode(k.KSFT_PASS, 'n2', null);
    k.ksftTestResultCode(k.KSFT_FAIL, 'n3', 'why %d', 3);
    k.ksftTestResultCode(k.KSFT_SKIP, 'n4', 'r');
    k.ksftTestResultCode(k.KSFT_XFAIL, 'n5', 'known');
    k.ksftTestResultCode(k.KSFT_XPASS, 'n6', '');
    k.ksftTestResultCode(7, 'n7', null);
    k.ksftTestResultCode(k.KSFT_SKIP, 'n8', null);
    k.ksftFinished();
  },
  result_report() {
    k.ksftSetPlan(5);
    for (const rc of [k.KSFT_PASS, k.KSFT_FAIL, k.KSFT_XFAIL, k.KSFT_XPASS, k.KSFT_SKIP, 99]) k.ksftTestResultReport(rc, 'rc %d\n', rc);
    k.ksftExitFail();
  },
  messages() {
    k.ksftPrintMsg('hello %s, %5.1f%%\n', 'world', 99.25);
    k.ksftPrintMsg('no newline');
    k.ksftPrintMsg('|%-6s|%6s|%04x|%#o|%lu|\n', 'ab', 'cd', 255, 8, -1);
    k.ksftPerror('open', 2);
    k.ksftExitPass();
  },
  skip_before_plan() {
    k.ksftPrintHeader();
    k.ksftExitSkip('no %s\n', 'kvm');
  },
  skip_after_plan() {
    k.ksftPrintHeader();
    k.ksftSetPlan(2);
    k.ksftExitSkip('later\n');
  },
  skip_after_result() {
    k.ksftSetPlan(3);
    k.ksftTestResultPass('a\n');
    k.ksftExitSkip('rest\n');
  },
  skip_null() {
    k.ksftExitSkip(null);
  },
  bail_out() {
    k.ksftSetPlan(2);
    k.ksftTestResultPass('one\n');
    k.ksftExitFailMsg('boom %d\n', 5);
  },
  bail_perror() {
    k.ksftExitFailPerror('mmap', 22);
  },
  exit_xfail() {
    k.ksftExitXfail();
  },
  exit_xpass() {
    k.ksftExitXpass();
  },
  exit_cond() {
    k.ksftSetPlan(1);
    k.ksftTestResult(1, 'fine\n');
    k.ksftExit(0);
  },
  finished_all_pass() {
    k.ksftSetPlan(3);
    k.ksftTestResultPass('p\n');
    k.ksftTestResultXfail('x\n');
    k.ksftTestResultSkip('s\n');
    k.ksftFinished();
  },
};

const run = scenarios[process.argv[2] ?? ''];
if (!run) {
  process.stderr.write(`calls: unknown scenario ${JSON.stringify(process.argv[2])}\n`);
  process.exit(2);
}
run();
