/**
 * Helpers for tests that run selftest programs the way the runner does:
 * bundled by esbuild into one ESM file with an inline source map and started
 * as plain `node --enable-source-maps`.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Bundles `entry` (a path relative to the repository) into `outDir`; returns the .mjs path. */
export async function bundle(entry: string, outDir: string): Promise<string> {
  const outfile = join(outDir, basename(entry).replace(/\.ts$/, '') + '.mjs');
  await build({
    entryPoints: [join(REPO, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number | null;
  signal: NodeJS.Signals | null;
}

function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.KSFT_TAP_LEVEL;
  delete env.KSFT_HARNESS_CHILD;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs a bundled program with separate stdout and stderr. */
export function runProgram(file: string, args: readonly string[] = [], env: Record<string, string | undefined> = {}): RunResult {
  const r = spawnSync(process.execPath, ['--enable-source-maps', file, ...args], {
    encoding: 'utf8',
    env: cleanEnv(env),
    timeout: 120_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, signal: r.signal };
}

/** Runs a bundled program with stdout and stderr on one file, in write order (as `2>&1`). */
export function runMerged(
  file: string,
  args: readonly string[] = [],
  env: Record<string, string | undefined> = {},
): { output: string; status: number | null; signal: NodeJS.Signals | null } {
  const { dir, remove } = tempDir('ksft-merged-');
  try {
    const out = join(dir, 'out');
    const fd = openSync(out, 'w');
    const r = spawnSync(process.execPath, ['--enable-source-maps', file, ...args], {
      stdio: ['ignore', fd, fd],
      env: cleanEnv(env),
      timeout: 120_000,
    });
    closeSync(fd);
    return { output: readFileSync(out, 'utf8'), status: r.status, signal: r.signal };
  } finally {
    remove();
  }
}
