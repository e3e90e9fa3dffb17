// Shared by the runner's tests: a bundled runner, throw-away test trees built
// from the fixture scripts, and a TAP splitter/parser for the runner's
// one-stream-per-collection output.
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Parser, type Result } from 'tap-parser';
import { buildRunner } from '../../../tools/build/build.js';
import { launcherText } from '../../../tools/build/layout.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURES = join(ROOT, 'test/tools/fixtures/runner');

let runnerPath: Promise<string> | undefined;

const created: string[] = [];
process.once('exit', () => {
  for (const d of created) rmSync(d, { recursive: true, force: true });
});

/** A temporary directory removed when the test process exits. */
export function tmpDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  created.push(d);
  return d;
}

/** The runner bundled exactly as `make` bundles it, once per test process. */
export function bundledRunner(): Promise<string> {
  runnerPath ??= buildRunner(ROOT, tmpDir('ksft-runner-bundle-'));
  return runnerPath;
}

export interface TestSpec {
  /** A file in test/tools/fixtures/runner, or with `program`, a .ts path in the repository bundled as `make` does. */
  fixture: string;
  mode?: number;
  program?: boolean;
}

export interface TreeSpec {
  collections: Record<string, Record<string, TestSpec | null>>;
  settings?: Record<string, string>;
  /** Extra list lines (names that have no file). */
  listExtra?: string[];
}

export interface Tree {
  base: string;
  list: string;
}

/**
 * A selftest program bundled as the build does it (ESM, inline source map,
 * the two-line launcher): `dst` is the launcher, `dst.mjs` the bundle.
 */
export async function bundleProgram(source: string, dst: string): Promise<void> {
  await build({
    entryPoints: [join(ROOT, source)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    outfile: `${dst}.mjs`,
    logLevel: 'error',
  });
  writeFileSync(dst, launcherText(basename(dst)));
  chmodSync(dst, 0o755);
}

/** makeTree, with the `program` entries bundled. */
export async function makeTreeAsync(spec: TreeSpec): Promise<Tree> {
  const tree = makeTree(spec);
  for (const [c, tests] of Object.entries(spec.collections)) {
    for (const [name, t] of Object.entries(tests)) {
      if (t?.program) await bundleProgram(t.fixture, join(tree.base, c, name));
    }
  }
  return tree;
}

/** A base directory laid out like an install: base/<collection>/<test>, plus a list. */
export function makeTree(spec: TreeSpec): Tree {
  const base = tmpDir('ksft-tree-');
  const lines: string[] = [];
  for (const [c, tests] of Object.entries(spec.collections)) {
    mkdirSync(join(base, c), { recursive: true });
    for (const [name, t] of Object.entries(tests)) {
      lines.push(`${c}:${name}`);
      if (t === null || t.program) continue;
      const dst = join(base, c, name);
      copyFileSync(join(FIXTURES, t.fixture), dst);
      chmodSync(dst, t.mode ?? 0o755);
    }
  }
  for (const [c, text] of Object.entries(spec.settings ?? {})) writeFileSync(join(base, c, 'settings'), text);
  lines.push(...(spec.listExtra ?? []));
  const list = join(base, 'kselftest-list.txt');
  writeFileSync(list, lines.map((l) => `${l}\n`).join(''));
  return { base, list };
}

export interface RunOutput {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  pid: number;
  ms: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Called for each stdout chunk; with `keep` false, stdout is not stored. */
  onStdout?: (chunk: Buffer, pid: number) => void;
  keep?: boolean;
}

export async function runRunner(tree: Tree | undefined, args: readonly string[], opts: RunOptions = {}): Promise<RunOutput> {
  const runner = await bundledRunner();
  const treeArgs = tree ? ['--base-dir', tree.base, '--list-file', tree.list] : [];
  const t0 = Date.now();
  const child = spawn(runner, [...treeArgs, ...args], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => {
    if (opts.keep !== false) out.push(d);
    opts.onStdout?.(d, child.pid!);
  });
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('close', (c, s) => res([c, s])));
  return {
    stdout: Buffer.concat(out).toString(),
    stderr: Buffer.concat(err).toString(),
    code,
    signal,
    pid: child.pid!,
    ms: Date.now() - t0,
  };
}

export interface ParsedStream {
  text: string;
  ok: boolean;
  plan: { start: number; end: number };
  asserts: Result[];
  comments: string[];
  bailout: string | false;
}

/** Parses a TAP stream with tap-parser. */
export function parseTap(text: string): Promise<ParsedStream> {
  return new Promise((res) => {
    const p = new Parser();
    const asserts: Result[] = [];
    const comments: string[] = [];
    let bailout: string | false = false;
    p.on('assert', (r: Result) => asserts.push(r));
    p.on('comment', (c: string) => comments.push(c));
    p.on('bailout', (reason: string) => { bailout = reason; });
    p.on('complete', (final: { ok: boolean; plan: { start: number; end: number } }) => {
      res({ text, ok: final.ok, plan: final.plan, asserts, comments, bailout });
    });
    p.end(text);
  });
}

/** Splits the runner's stdout into its per-collection TAP streams and parses each. */
export async function parseStreams(stdout: string): Promise<ParsedStream[]> {
  const chunks = stdout.split(/^(?=TAP version 13$)/m).filter((c) => c.startsWith('TAP version 13'));
  return Promise.all(chunks.map(parseTap));
}

export function pidsFrom(file: string): number[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map(Number);
}

/** Gone, or a zombie nobody reaped yet (both mean it no longer runs). */
export function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

export async function waitDead(pids: readonly number[], ms = 3000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (pids.every(isDead)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return pids.every(isDead);
}

export function tmpFile(name: string): string {
  return join(tmpDir('ksft-tmp-'), name);
}
