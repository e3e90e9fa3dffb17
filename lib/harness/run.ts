/**
 * test_harness_run() and __run_test(): the harness process.
 *
 * For every enabled fixture × variant × test it prints `#  RUN`, starts the
 * test in a process of its own, waits with the test's timeout, maps the way
 * the process ended (status.ts), prints `#            OK` or `#          FAIL`
 * and the TAP result line, and finally the PASSED/FAILED summary and the
 * Totals.
 *
 * C forks and calls setpgrp() in the child. Node cannot fork, so the test
 * process is this same program started again (same node, same script and
 * arguments; launch.ts), one test ahead, in a session and process group of
 * its own. On timeout the whole group gets SIGKILL, as `kill(-pid, SIGKILL)`
 * in `__wait_for_test()`, so anything the test started dies with it. The
 * test process inherits stdin, stdout and stderr and writes them
 * synchronously, so its lines land between this process's RUN and OK/FAIL
 * lines in order.
 */
import { deserialize } from 'node:v8';
import { existsSync } from 'node:fs';
import { KSFT_FAIL, KSFT_PASS, KSFT_XFAIL, KSFT_XPASS } from '../kselftest/codes.js';
import { ksftExit, ksftPrintHeader, ksftPrintMsg, ksftSetPlan, ksftTestResultCode } from '../kselftest/kselftest.js';
import { writeFd, writeStderr } from '../kselftest/stdio.js';
import { runTestProcess, section } from './child.js';
import { argvCheck, testEnabled, type HarnessOption } from './cli.js';
import { thLogFd } from './config.js';
import { TestProcess } from './launch.js';
import { newMetadata, setCurrentTest } from './metadata.js';
import { CHILD_ENV, type ChildState } from './protocol.js';
import { allFixtures, type FixtureDef, type TestDef, type VariantDef } from './registry.js';
import { SIGABRT, testPassed, testVerdict, type TestEnd } from './status.js';

/** The running test process and the one started ahead for the next test. */
const live = new Set<TestProcess>();

/**
 * If the harness itself is terminated (the runner's timeout sends SIGTERM
 * to it alone), take the running test's process group down too, and the one
 * started ahead; they are in groups of their own and would otherwise
 * outlive us. Then die by the same signal.
 */
function forwardTermination(): void {
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const p of live) p.kill();
      process.kill(process.pid, sig);
    });
  }
}

/**
 * FIXTURE_TEARDOWN_PARENT: C runs it in the test's parent process once the
 * test has ended, with the MAP_SHARED `self`. A failed EXPECT there fails
 * the test; a failed ASSERT ends it as an assertion; a test killed by a
 * signal stays killed by that signal.
 */
async function teardownInParent(f: FixtureDef, variant: VariantDef | undefined, t: TestDef, state: ChildState, end: TestEnd): Promise<TestEnd> {
  const teardown = f.teardown;
  if (!teardown || state.self === undefined) return end;
  const self = deserialize(Buffer.from(state.self, 'base64')) as object;
  const md = newMetadata(t.name, () => {
    state.reason = md.reason;
  });
  md.exitCode = end.code ?? KSFT_PASS;
  setCurrentTest(md);
  const outcome = await section(md, () => teardown(self, variant?.data));
  setCurrentTest(undefined);
  if (outcome === 'abort') return { code: null, signal: SIGABRT, timedOut: false };
  if (end.code === null) return end;
  return { code: md.exitCode, signal: null, timedOut: false };
}

async function runTest(proc: TestProcess, fi: number, f: FixtureDef, vi: number, v: VariantDef | undefined, ti: number, t: TestDef): Promise<boolean> {
  const name = `${f.name}${v ? '.' : ''}${v ? v.name : ''}.${t.name}`;
  ksftPrintMsg(' RUN           %s ...\n', name);
  const started = await proc.run({ fixture: fi, variant: vi, test: ti }, t.timeout);
  let exitCode: number;
  let reason = '';
  if (!started.ok) {
    ksftPrintMsg('ERROR SPAWNING TEST CHILD\n');
    exitCode = KSFT_FAIL;
  } else {
    const state = started.state;
    let end = started.end;
    if (state && f.teardownParent && state.armed && !end.timedOut) end = await teardownInParent(f, v, t, state, end);
    reason = state?.reason ?? '';
    const verdict = testVerdict(t.name, t.termsig, end);
    if (verdict.message) writeFd(thLogFd(), verdict.message);
    exitCode = verdict.exitCode;
  }
  const passed = testPassed(exitCode);
  ksftPrintMsg('         %4s  %s\n', passed ? 'OK' : 'FAIL', name);
  if (v?.xfails.has(t)) exitCode = passed ? KSFT_XPASS : KSFT_XFAIL;
  let diagnostic: string | null;
  if (reason) diagnostic = reason;
  else if (exitCode === KSFT_PASS || exitCode === KSFT_FAIL) diagnostic = null;
  else diagnostic = 'unknown';
  if (diagnostic === null) ksftTestResultCode(exitCode, name, null);
  else ksftTestResultCode(exitCode, name, '%s', diagnostic);
  return testPassed(exitCode);
}

interface Planned {
  fi: number;
  f: FixtureDef;
  vi: number;
  v: VariantDef | undefined;
  ti: number;
  t: TestDef;
}

function plan(options: readonly HarnessOption[]): { tests: Planned[]; cases: number } {
  const tests: Planned[] = [];
  let cases = 0;
  allFixtures().forEach((f, fi) => {
    const variants: (VariantDef | undefined)[] = f.variants.length ? f.variants : [undefined];
    variants.forEach((v, vi) => {
      const before = tests.length;
      f.tests.forEach((t, ti) => {
        if (testEnabled(options, f, v, t)) tests.push({ fi, f, vi: v ? vi : -1, v, ti, t });
      });
      if (tests.length !== before) cases++;
    });
  });
  return { tests, cases };
}

/**
 * TEST_HARNESS_MAIN: run the registered tests selected by `argv` and exit
 * (0 only if every test passed, skips included). In a test process started
 * by the harness it runs that one test instead. Call it once, after every
 * definition, at the top level of the test program.
 */
export async function testHarnessRun(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  const marker = process.env[CHILD_ENV];
  if (marker !== undefined) {
    // Programs the test starts must not mistake themselves for test processes.
    delete process.env[CHILD_ENV];
    return runTestProcess();
  }
  const prog = process.argv[1] ?? '';
  // Each test process is this program started again, so it must be a file.
  if (!prog || !existsSync(prog)) {
    writeStderr(`kselftest_harness: cannot start test processes: the program file ${JSON.stringify(prog)} does not exist\n`);
    process.exit(KSFT_FAIL);
  }
  const check = argvCheck(argv, prog, allFixtures());
  if (check.ret !== KSFT_PASS) process.exit(check.ret);

  const { tests, cases } = plan(check.options);
  ksftPrintHeader();
  ksftSetPlan(tests.length);
  ksftPrintMsg('Starting %u tests from %u test cases.\n', tests.length, cases);

  forwardTermination();
  let failed = false;
  let passCount = 0;
  let count = 0;
  let next: TestProcess | undefined = tests.length > 0 ? new TestProcess() : undefined;
  if (next) live.add(next);
  for (const p of tests) {
    const proc: TestProcess = next!;
    count++;
    // The next test's process starts now and loads while this one runs.
    next = count < tests.length ? new TestProcess() : undefined;
    if (next) live.add(next);
    if (await runTest(proc, p.fi, p.f, p.vi, p.v, p.ti, p.t)) passCount++;
    else failed = true;
    live.delete(proc);
  }
  ksftPrintMsg('%s: %u / %u tests passed.\n', failed ? 'FAILED' : 'PASSED', passCount, count);
  return ksftExit(!failed);
}

/**
 * Whether this process is one the harness started to run a single test.
 * What C does once before main (a constructor printing a banner) runs only
 * when this is false: the test processes are the program started again.
 */
export function isHarnessTestProcess(): boolean {
  return process.env[CHILD_ENV] !== undefined;
}

/** TEST_HARNESS_MAIN, spelled as a call. */
export function TEST_HARNESS_MAIN(): Promise<never> {
  return testHarnessRun();
}
