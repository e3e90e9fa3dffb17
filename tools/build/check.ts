// `make check`: `npx tsc -p tsconfig.json`, then `npx tap` (test/**/*.test.ts,
// see package.json "tap") with the TAP reporter, shown as it comes, and a
// last line `N passed, N failed[, N skipped]` for CI. The counts are tap's
// leaf results; a failed typecheck adds one failure, so the line never says
// "0 failed" for a run that failed. Exit status 1 on any failure.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser } from 'tap-parser';
import { countParser, summaryLine } from './tap_count.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
const typecheckFailed = tsc.status !== 0;
if (typecheckFailed) process.stdout.write('# typecheck failed: npx tsc -p tsconfig.json\n');

const parser = new Parser();
const counts = countParser(parser);
let bailedOut = false;
parser.on('bailout', () => { bailedOut = true; });

const child = spawn('npx', ['tap', '-R', 'tap', ...process.argv.slice(2)], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
child.stdout.on('data', (d: Buffer) => {
  process.stdout.write(d);
  parser.write(d);
});
const code: number = await new Promise((res) => child.on('close', (c, s) => res(c ?? (s ? 1 : 0))));
parser.end();
const final = await new Promise<{ ok: boolean }>((res) => {
  if (parser.results) res(parser.results);
  else parser.once('complete', res);
});
if ((bailedOut || code !== 0 || !final.ok) && counts.fail === 0) counts.fail += 1;
if (typecheckFailed) counts.fail += 1;
process.stdout.write(`${summaryLine(counts)}\n`);
process.exitCode = typecheckFailed || code !== 0 || counts.fail > 0 || !final.ok ? 1 : 0;
