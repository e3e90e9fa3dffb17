/**
 * Helpers for tests that run selftest programs the way the runner does:
 * bundled by esbuild into one ESM file with its source map beside it and
 * started as plain `node`.
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

/**
 * Collections bundled as `make all` bundles them, in a temporary folder
 * removed when the test file ends; returns that build folder (programs are
 * `<out>/tests/<collection>/<name>.mjs`). Without the build's typecheck,
 * which `make check` runs over the whole tree once.
 */
export async function builtCollections(collections: readonly string[], owner: { teardown(fn: () => void): void }): Promise<string> {
  const { buildCollections } = await import('../../../tools/build/build.js');
  const { dir, remove } = tempDir('ksft-built-');
  owner.teardown(remove);
  const r = await buildCollections({ root: REPO, out: dir, collections, typecheck: false });
  if (r.failures.length > 0) throw new Error(`building ${collections.join(' ')}: ${r.failures.map((f) => f.message).join('; ')}`);
  return dir;
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
    sourcemap: 'linked',
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

export function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  // The programs must run as the runner starts them: without the test
  // framework's process hooks (NODE_OPTIONS) or its variables.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k === 'KSFT_TAP_LEVEL' || k === 'KSFT_HARNESS_CHILD') continue;
    if (k === 'TAP' || k.startsWith('TAP_') || k.startsWith('_TAPJS_')) continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * The command line that starts a bundled program. Under tap, child_process
 * is patched to put tap's process-tracking hook back into NODE_OPTIONS of
 * every child, and that hook catches signals (SIGABRT, SIGUSR2) in a
 * thread of its own; `env -u NODE_OPTIONS` removes it after the patch ran,
 * so the program starts as the runner would start it (plain node, the
 * bundle's map read only when a location is printed).
 */
export function nodeCommand(file: string, args: readonly string[]): [string, string[]] {
  return ['env', ['-u', 'NODE_OPTIONS', process.execPath, file, ...args]];
}

/** Runs a bundled program with separate stdout and stderr. */
export function runProgram(file: string, args: readonly string[] = [], env: Record<string, string | undefined> = {}): RunResult {
  const [cmd, argv] = nodeCommand(file, args);
  const r = spawnSync(cmd, argv, {
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
    const [cmd, argv] = nodeCommand(file, args);
    const r = spawnSync(cmd, argv, {
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
