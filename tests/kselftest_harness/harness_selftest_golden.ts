/**
 * Runs harness-selftest and compares its transcript (stdout and stderr
 * merged in write order, as the runner sees them) with
 * harness-selftest.expected. Two results: the exit status harness-selftest
 * must have (1: it contains failing tests on purpose) and the transcript
 * itself; a mismatch prints a line diff as diagnostics.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  KSFT_FAIL,
  ksftExitFailMsg,
  ksftFinished,
  ksftPrintHeader,
  ksftPrintMsg,
  ksftSetPlan,
  ksftTestResult,
} from '../../lib/kselftest/index.js';
import { lineDiff, normaliseTranscript } from './golden.js';

const here = dirname(resolve(process.argv[1] ?? '.'));

/** The built launcher when run from the build, the .ts source when run through tsx. */
function target(): string[] {
  const built = join(here, 'harness-selftest');
  if (existsSync(built)) return ['--enable-source-maps', built];
  const source = join(here, 'harness-selftest.ts');
  if (existsSync(source)) return [...process.execArgv, source];
  return ksftExitFailMsg('harness-selftest not found next to %s\n', process.argv[1] ?? '?');
}

function transcript(args: string[]): { text: string; status: number | null; signal: string | null } {
  const dir = mkdtempSync(join(tmpdir(), 'ksft-golden-'));
  const file = join(dir, 'out');
  const fd = openSync(file, 'w');
  try {
    const env = { ...process.env };
    delete env.KSFT_TAP_LEVEL;
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', fd, fd], env, timeout: 120_000 });
    closeSync(fd);
    return { text: readFileSync(file, 'utf8'), status: r.status, signal: r.signal };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

ksftPrintHeader();
const expectedPath = join(here, 'harness-selftest.expected');
if (!existsSync(expectedPath)) ksftExitFailMsg('%s is missing\n', expectedPath);
ksftSetPlan(2);

const run = transcript(target());
if (run.status !== KSFT_FAIL) ksftPrintMsg('harness-selftest ended with status %s, signal %s\n', String(run.status), String(run.signal));
ksftTestResult(run.status === KSFT_FAIL, 'harness-selftest exits with KSFT_FAIL\n');

const diff = lineDiff(normaliseTranscript(readFileSync(expectedPath, 'utf8')), normaliseTranscript(run.text));
for (const line of diff) ksftPrintMsg('%s\n', line);
ksftTestResult(diff.length === 0, 'harness-selftest output matches harness-selftest.expected\n');
ksftFinished();
