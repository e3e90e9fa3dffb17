// The bench's own programs (bench/fixtures/bench), built by the project's
// build exactly as a test collection is, so figures time real bundles.
import { join } from 'node:path';
import { ROOT, timeRun } from './measure.js';

/** Builds bench/fixtures/bench into `out`; returns the folder of its programs. */
export function buildFixtures(out: string): string {
  const r = timeRun(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/build/main.ts'), '-q',
    '--tests-dir', join(ROOT, 'bench/fixtures'), '-o', out, '-C', 'bench'], { cwd: ROOT });
  if (r.status !== 0) throw new Error(`building bench/fixtures: ${r.stderr.trim()}`);
  return join(out, 'tests/bench');
}
