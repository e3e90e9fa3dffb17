/**
 * Each TEST reports the process it ran in: pid, parent, process group and
 * session (from /proc/self/stat), and whether source maps were on.
 */
import { readFileSync } from 'node:fs';
import { TEST, TEST_HARNESS_MAIN, TH_LOG, setThLogStream } from '../../../../lib/harness/index.js';

setThLogStream('stdout');

function ids(): string {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return `pid=${process.pid} ppid=${f[1]} pgrp=${f[2]} sid=${f[3]} maps=${process.execArgv.includes('--enable-source-maps')}`;
}

for (const name of ['one', 'two', 'three']) TEST(name, () => { TH_LOG('%s', ids()); });

await TEST_HARNESS_MAIN();
