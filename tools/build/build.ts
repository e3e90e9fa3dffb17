// The build: bundles and copies the selected collections into build/, writes
// the runner and build/kselftest-list.txt. Used by the top-level Makefile
// (all collections, one esbuild call) and by lib.mk (one collection).
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { bundleRunner, bundleTests, type TestEntry } from './bundle.js';
import { BuildError, readCollection, runList, type Collection } from './collections.js';
import { copyKeepMode, flatName, mergeList, writeExecutable, writeLauncher, writePlain } from './layout.js';

export interface BuildOptions {
  /** Repository root: holds tests/ and tools/runner/. */
  root: string;
  /** Output directory (build/). */
  out: string;
  collections: readonly string[];
  /** Folder holding the collections (default: <root>/tests). */
  testsDir?: string;
}

export interface BuildResult {
  collections: Collection[];
  bundled: number;
  list: string;
}

function checkNames(c: Collection): void {
  const seen = new Map<string, string>();
  for (const p of [...c.genProgs, ...c.genProgsExtended, ...c.progs, ...c.progsExtended, ...c.files]) {
    const f = flatName(p);
    const prev = seen.get(f);
    if (prev !== undefined && prev !== p) {
      throw new BuildError(`${join(c.dir, 'Makefile')}: '${prev}' and '${p}' would both install as ${c.name}/${f}`);
    }
    seen.set(f, p);
  }
}

/**
 * run_kselftest.sh is a two-line POSIX sh launcher for kselftest/runner.cjs
 * (the bundled runner). A node script named `.sh` would break whenever
 * NODE_OPTIONS registers module hooks (test harnesses, tsx): Node's ESM
 * loader then refuses the unknown extension. `.cjs` has no such case.
 */
export const RUNNER_LAUNCHER = `#!/bin/sh
# Runs the kselftest runner (kselftest/runner.cjs, bundled from tools/runner); --help lists the options.
KSFT_RUNNER_SCRIPT="$0" exec node "$(dirname "$0")/kselftest/runner.cjs" "$@"
`;

export async function buildRunner(root: string, out: string): Promise<string> {
  const bundle = join(out, 'kselftest', 'runner.cjs');
  const file = await bundleRunner(join(root, 'tools/runner/cli.ts'), bundle);
  writePlain(bundle, file.contents);
  const target = join(out, 'run_kselftest.sh');
  writeExecutable(target, RUNNER_LAUNCHER);
  return target;
}

export async function buildCollections(opts: BuildOptions): Promise<BuildResult> {
  const testsDir = opts.testsDir ?? join(opts.root, 'tests');
  const collections = opts.collections.map((n) => readCollection(testsDir, n));
  const entries: TestEntry[] = [];
  for (const c of collections) {
    checkNames(c);
    for (const p of [...c.genProgs, ...c.genProgsExtended]) {
      const source = join(c.dir, `${p}.ts`);
      if (!existsSync(source)) {
        throw new BuildError(`${relative(opts.root, join(c.dir, 'Makefile'))}: ${p} is listed but ${relative(opts.root, source)} does not exist`);
      }
      entries.push({ source, out: `tests/${c.name}/${flatName(p)}` });
    }
    for (const p of [...c.progs, ...c.progsExtended, ...c.files]) {
      const src = join(c.dir, p);
      if (!existsSync(src)) throw new BuildError(`${relative(opts.root, join(c.dir, 'Makefile'))}: ${p} is listed but ${relative(opts.root, src)} does not exist`);
    }
  }

  const outputs = await bundleTests(entries, opts.out);
  for (const f of outputs) writePlain(f.path, f.contents);
  for (const e of entries) {
    const outPath = join(opts.out, e.out);
    writeLauncher(join(outPath, '..'), flatName(e.out));
  }

  const built = new Map<string, string[]>();
  for (const c of collections) {
    const outDir = join(opts.out, 'tests', c.name);
    mkdirSync(outDir, { recursive: true });
    for (const p of [...c.progs, ...c.progsExtended, ...c.files]) copyKeepMode(join(c.dir, p), join(outDir, flatName(p)));
    for (const extra of ['settings', 'config']) {
      if (existsSync(join(c.dir, extra))) copyKeepMode(join(c.dir, extra), join(outDir, extra));
    }
    built.set(c.name, runList(c));
  }
  await buildRunner(opts.root, opts.out);
  const list = mergeList(join(opts.out, 'kselftest-list.txt'), built);
  return { collections, bundled: entries.length, list };
}
