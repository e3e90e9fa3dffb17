/**
 * A TEST that writes its pid to $KSFT_FIXTURE_PIDS, says so and hangs (with
 * a sleeping grandchild, whose pid is written too): whoever stops the
 * harness must take both down.
 */
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { TEST, TEST_HARNESS_MAIN } from '../../../../lib/harness/index.js';

TEST('hangs', async () => {
  const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  appendFileSync(process.env.KSFT_FIXTURE_PIDS ?? '/dev/null', `${process.pid}\n${sleeper.pid}\n`);
  process.stdout.write('# test process hanging\n');
  await new Promise(() => {});
});

await TEST_HARNESS_MAIN();
