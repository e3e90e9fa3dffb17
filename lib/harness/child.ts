/**
 * The test process: one fixture × variant × test, started by the harness
 * (run.ts). This is the forked child of `__run_test()` together with the
 * grandchild that TEST_F's wrapper forks in C: setup, the test, and the
 * teardown exactly once (`no_teardown` guard), also after a failed ASSERT
 * (`__bail()`), but not after a setup that failed.
 */
import { Socket } from 'node:net';
import { serialize } from 'node:v8';
import { inspect } from 'node:util';
import { KSFT_FAIL } from '../kselftest/codes.js';
import { writeFd } from '../kselftest/stdio.js';
import { setKsftExitSkipHook } from '../kselftest/kselftest.js';
import { parseStack, userStack } from '../source/location.js';
import { thLogFd } from './config.js';
import { thLogAt } from './log.js';
import { newMetadata, setCurrentTest, type TestMetadata } from './metadata.js';
import { MARKER_FD, readMarker, writeState, type ChildMarker, type ChildState } from './protocol.js';
import { allFixtures, type FixtureDef, type TestDef } from './registry.js';
import { isAssertionAbort, isSkipReturn } from './sentinels.js';
import { SKIP } from './log.js';

type Outcome = 'done' | 'abort';

/**
 * An exception that is not a harness sentinel: the test is broken, not
 * aborted. Its stack shows the test's frames only (userStack()): the
 * harness's own section/runTestProcess/TEST_HARNESS_MAIN frames and Node's
 * module loader say nothing about the test.
 */
export function reportUnexpected(md: TestMetadata, err: unknown): void {
  const text = err instanceof Error ? userStack(err, process.cwd()) : inspect(err);
  writeFd(thLogFd(), text.split('\n').map((l) => `# ${md.name}: ${l}\n`).join(''));
  md.exitCode = KSFT_FAIL;
}

/**
 * A rejection nobody handled, or an exception thrown from a callback: code
 * the test started and did not await. C has no such thing (a failed ASSERT
 * anywhere ends the process), so it fails the test, with the place it came
 * from: `# file:line:test:` from the error's own stack, then the stack.
 */
function reportStray(md: TestMetadata, kind: string, err: unknown): void {
  const frame = err instanceof Error ? parseStack(err.stack)[0] : undefined;
  const site = frame && { path: frame.file, file: frame.file.split('/').pop() ?? frame.file, line: frame.line, column: frame.column };
  thLogAt(site, md.name, `${kind} outside the test's await chain: ${err instanceof Error ? `${err.name}: ${err.message}` : inspect(err)}`);
  reportUnexpected(md, err);
}

/**
 * Ends the test process's own group when the harness dies mid-test (its end
 * of the fd 3 socket closes), so a killed harness leaves no test running.
 */
function watchHarness(): void {
  const s = new Socket({ fd: MARKER_FD, readable: true, writable: false });
  const gone = (): void => {
    try {
      process.kill(-process.pid, 'SIGKILL');
    } catch {
      process.kill(process.pid, 'SIGKILL');
    }
  };
  s.on('end', gone);
  s.on('error', gone);
  s.on('data', () => {});
  s.unref();
}

/** Lets callbacks and rejections already queued run before the process ends. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 0));
  await new Promise((r) => setImmediate(r));
}

/** Runs one user function; SKIP() returns from it, ASSERT_* aborts it. */
export async function section(md: TestMetadata, fn: () => unknown): Promise<Outcome> {
  try {
    await fn();
    return 'done';
  } catch (err) {
    if (isSkipReturn(err)) return 'done';
    if (isAssertionAbort(err)) return 'abort';
    reportUnexpected(md, err);
    return 'done';
  }
}

/**
 * Ends the process the way abort() does, so the harness reports "Test
 * terminated by assertion". Signalling ourselves keeps Node from printing
 * the native backtrace that process.abort() writes.
 */
function raiseAbort(): never {
  // A library may have put a JavaScript listener on SIGABRT (signal-exit
  // does, for one). Listeners run on the event loop, which never turns again
  // here, so drop them: with none left Node restores the default action.
  process.removeAllListeners('SIGABRT');
  process.kill(process.pid, 'SIGABRT');
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 10; i++) Atomics.wait(pause, 0, 0, 100);
  // Still here: SIGABRT is blocked or ignored. abort(3) unblocks it and
  // restores the default action itself (Node prints a backtrace first).
  return process.abort();
}

function lookup(marker: ChildMarker): { f: FixtureDef; variantData: unknown; t: TestDef } {
  const f = allFixtures()[marker.fixture];
  const t = f?.tests[marker.test];
  const v = marker.variant >= 0 ? f?.variants[marker.variant] : undefined;
  if (!f || !t || (marker.variant >= 0 && !v))
    throw new Error('kselftest_harness: the test process did not register the same tests as the harness process');
  return { f, variantData: v?.data, t };
}

export async function runTestProcess(): Promise<never> {
  const marker = readMarker();
  // The harness closed the socket before naming a test (it was started
  // ahead and the run ended, or the harness died): run nothing.
  if (marker === undefined) return process.exit(0);
  watchHarness();
  const { f, variantData, t } = lookup(marker);
  const state: ChildState = { reason: '', armed: false };
  const md = newMetadata(t.name, () => {
    state.reason = md.reason;
    writeState(state);
  });
  // Work the body started without awaiting it still belongs to this test.
  let strayAbort = false;
  const onStray = (kind: string) => (err: unknown): void => {
    if (isSkipReturn(err)) return;
    if (isAssertionAbort(err)) {
      // The ASSERT printed its message and failed the test; it ends as an
      // assertion, once the body and teardown are done.
      md.exitCode = KSFT_FAIL;
      strayAbort = true;
      return;
    }
    reportStray(md, kind, err);
  };
  process.on('unhandledRejection', onStray('Unhandled promise rejection'));
  process.on('uncaughtException', onStray('Uncaught exception'));
  setCurrentTest(md);
  // A library skip (kvm_util's TEST_REQUIRE) inside the test is this test's SKIP().
  setKsftExitSkipHook((reason) => SKIP('%s', reason));
  // An await on something that never settles must end in the harness
  // timeout, as a blocked C test would, not in a silent exit with status 0.
  const keepAlive = setInterval(() => {}, 1 << 30);

  const self = f.init();
  let noTeardown = true;
  const parentTeardown = f.isFixture && f.teardownParent && f.teardown !== undefined;
  const snapshot = (): void => {
    if (!parentTeardown) return;
    state.armed = !noTeardown;
    state.self = serialize(self).toString('base64');
    writeState(state);
  };
  // A test that calls process.exit() still hands its `self` to the parent teardown.
  if (parentTeardown) process.on('exit', snapshot);

  const teardownHere = async (): Promise<Outcome> => {
    if (!f.isFixture || f.teardownParent || !f.teardown || noTeardown) return 'done';
    noTeardown = true;
    const teardown = f.teardown;
    return section(md, () => teardown(self, variantData));
  };
  const bail = async (): Promise<never> => {
    // A failing ASSERT in the teardown itself finds the guard set and just aborts.
    await teardownHere();
    snapshot();
    return raiseAbort();
  };
  const finish = async (): Promise<never> => {
    await settle();
    clearInterval(keepAlive);
    snapshot();
    if (strayAbort) return raiseAbort();
    return process.exit(md.exitCode);
  };

  if (f.isFixture) {
    const setup = f.setup;
    if (setup && (await section(md, () => setup(self, variantData))) === 'abort') await bail();
    // A setup that failed an EXPECT or SKIPped ends the test without a teardown.
    if (md.exitCode) await finish();
    noTeardown = false;
    snapshot();
  }
  if ((await section(md, () => t.fn(self, variantData))) === 'abort') await bail();
  if ((await teardownHere()) === 'abort') {
    snapshot();
    raiseAbort();
  }
  return finish();
}
