/**
 * A test that starts a long sleep in its own process group and then hangs:
 * the timeout must kill both the test process and the grandchild.
 */
import { spawn } from 'node:child_process';
import { FIXTURE, TEST_F_TIMEOUT, TEST_HARNESS_MAIN, TH_LOG, setThLogStream } from '../../../../lib/harness/index.js';

setThLogStream('stdout');

const f = FIXTURE('sleeper', () => ({}));

TEST_F_TIMEOUT(f, 'hangs', 1, async () => {
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  TH_LOG('test pid=%d grandchild pid=%d', process.pid, sleeper.pid ?? -1);
  await new Promise(() => {});
});

await TEST_HARNESS_MAIN();
