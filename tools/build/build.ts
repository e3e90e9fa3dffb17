// The build: bundles and copies the selected collections into build/, writes
// the runner and build/kselftest-list.txt. Used by the top-level Makefile
// (all collections, one esbuild call) and by lib.mk (one collection).
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import type { OutputFile } from 'esbuild';
import { join, relative, sep } from 'node:path';
import { bundleTests, bundleTool, type TestEntry } from './bundle.js';
import { BuildError, discoverCollections, readCollection, runList, type Collection } from './collections.js';
import { copyKeepMode, flatName, mergeList, writeExecutable, writeLauncher, writePlain } from './layout.js';
import { directoriesUnder, removeStamp, selectionMakefiles, stampKey, toolInputs, writeStamp, type Selection } from './stamp.js';
import { typecheck } from './typecheck.js';

export interface BuildOptions {
  /** Repository root: holds tests/ and tools/runner/. */
  root: string;
  /** Output directory (build/). */
  out: string;
  collections: readonly string[];
  /** Folder holding the collections (default: <root>/tests). */
  testsDir?: string;
  /**
   * false: bundle without typechecking (the project's own tests, which
   * typecheck the tree once in `make check`, build collections to run them).
   */
  typecheck?: boolean;
}

export interface BuildFailure {
  collection: string;
  message: string;
}

export interface BuildResult {
  collections: Collection[];
  bundled: number;
  list: string;
  /** Collections that did not build; their tests stay in the list and run as missing. */
  failures: BuildFailure[];
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
 * run_kselftest.sh is a small POSIX sh launcher for kselftest/runner.cjs
 * (the bundled runner). A node script named `.sh` would break whenever
 * NODE_OPTIONS registers module hooks (test harnesses, tsx): Node's ESM
 * loader then refuses the unknown extension. `.cjs` has no such case.
 * In build/ the collections sit in tests/; in an install directory they sit
 * beside the launcher, as in the kernel's install.
 */
export function runnerLauncher(testsSubdir: string | undefined): string {
  const tests = testsSubdir === undefined ? '' : `KSFT_RUNNER_TESTS=${testsSubdir} `;
  return `#!/bin/sh
# Runs the kselftest runner (kselftest/runner.cjs, bundled from tools/runner); --help lists the options.
KSFT_RUNNER_SCRIPT="$0" ${tests}exec node "$(dirname "$0")/kselftest/runner.cjs" "$@"
`;
}

/**
 * Writes out/kselftest/runner.cjs, out/run_kselftest.sh (collections in
 * out/tests) and out/kselftest/run_kselftest.sh (the launcher `make install`
 * puts at the top of the install directory).
 */
export async function buildRunner(root: string, out: string): Promise<string> {
  return (await writeRunner(root, out)).target;
}

interface Written {
  /** The files written. */
  readonly written: string[];
  /** The sources they were made from. */
  readonly inputs: readonly string[];
}

async function writeRunner(root: string, out: string): Promise<Written & { target: string }> {
  const bundle = join(out, 'kselftest', 'runner.cjs');
  const { file, inputs } = await bundleTool(join(root, 'tools/runner/cli.ts'), bundle);
  writePlain(bundle, file.contents);
  const installed = join(out, 'kselftest', 'run_kselftest.sh');
  writeExecutable(installed, runnerLauncher(undefined));
  const target = join(out, 'run_kselftest.sh');
  writeExecutable(target, runnerLauncher('tests'));
  return { target, written: [bundle, installed, target], inputs };
}

/** The up-to-date check the Makefiles run before the build (up_to_date.ts), bundled beside the stamps. */
async function writeUpToDate(root: string, out: string): Promise<Written> {
  const target = join(out, '.stamps', 'up_to_date.mjs');
  const { file, inputs } = await bundleTool(join(root, 'tools/build/up_to_date.ts'), target, 'esm');
  writePlain(target, file.contents);
  return { written: [target], inputs };
}

function entriesOf(c: Collection, root: string): TestEntry[] {
  const mk = relative(root, join(c.dir, 'Makefile'));
  checkNames(c);
  const entries: TestEntry[] = [];
  for (const p of [...c.genProgs, ...c.genProgsExtended]) {
    const source = join(c.dir, `${p}.ts`);
    if (!existsSync(source)) throw new BuildError(`${mk}: ${p} is listed but ${relative(root, source)} does not exist`);
    entries.push({ source, out: `tests/${c.name}/${flatName(p)}` });
  }
  for (const p of [...c.progs, ...c.progsExtended, ...c.files]) {
    const src = join(c.dir, p);
    if (!existsSync(src)) throw new BuildError(`${mk}: ${p} is listed but ${relative(root, src)} does not exist`);
  }
  return entries;
}

/**
 * The .ts files of a collection's folder that none of its listed programs
 * is or imports: a test someone wrote and never listed would otherwise
 * simply not run. Only the collection's own programs count, so the answer
 * does not depend on which collections a build selects; a helper several
 * collections share lives above them (tests/coco/scenarios.ts). Nested
 * collections are theirs to check; dot files (editor and test scratch
 * files) and .d.ts files are not sources of a program.
 */
export function unlistedSources(c: Collection, testsDir: string, used: ReadonlySet<string>): string[] {
  const nested = new Set(discoverCollections(testsDir).filter((n) => n !== c.name && n.startsWith(`${c.name}/`)).map((n) => join(testsDir, n)));
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!nested.has(p)) walk(p);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !used.has(p)) {
        found.push(p);
      }
    }
  };
  walk(c.dir);
  return found.sort();
}

function unlistedMessage(c: Collection, root: string, stray: readonly string[]): string {
  const mk = relative(root, join(c.dir, 'Makefile'));
  const names = stray.map((p) => relative(root, p)).join(', ');
  return `${names} ${stray.length > 1 ? 'are' : 'is'} in the collection but not listed in ${mk} ` +
    '(TEST_GEN_PROGS runs a program, TEST_GEN_PROGS_EXTENDED only builds it) and no listed program imports ' +
    `${stray.length > 1 ? 'them' : 'it'}; the other tests were built`;
}

/** Removes a collection's previous outputs, so a failed build leaves its tests missing, not stale. */
function removeOutputs(c: Collection, out: string): void {
  const dir = join(out, 'tests', c.name);
  const names = [...c.genProgs, ...c.genProgsExtended].flatMap((p) => [flatName(p), `${flatName(p)}.mjs`, `${flatName(p)}.mjs.map`])
    .concat([...c.progs, ...c.progsExtended, ...c.files].map(flatName));
  for (const n of names) rmSync(join(dir, n), { force: true });
}

/**
 * Builds what it can. One esbuild call covers every collection; if it fails,
 * each collection is bundled alone to find the broken ones, and the others
 * are still written. As with the kernel's per-target build, one broken
 * collection does not stop the rest: its tests stay in the list and the
 * runner reports them `not ok` as missing files.
 */
export async function buildCollections(opts: BuildOptions): Promise<BuildResult> {
  const testsDir = opts.testsDir ?? join(opts.root, 'tests');
  const sel: Selection = { out: opts.out, testsDir, collections: opts.collections };
  const key = stampKey(sel, selectionMakefiles(opts.root, sel));
  // The file system stamps mtimes from a coarse clock that can trail
  // Date.now() by a tick: a margin keeps an edit at the start from passing.
  const startedNs = BigInt(Date.now() - 20) * 1_000_000n;
  removeStamp(sel);
  const failures: BuildFailure[] = [];
  const collections: Collection[] = [];
  for (const name of opts.collections) {
    try {
      collections.push(readCollection(testsDir, name));
    } catch (e) {
      if (!(e instanceof BuildError)) throw e;
      failures.push({ collection: name, message: e.message });
    }
  }
  const good = new Map<Collection, TestEntry[]>();
  for (const c of collections) {
    try {
      good.set(c, entriesOf(c, opts.root));
    } catch (e) {
      if (!(e instanceof BuildError)) throw e;
      failures.push({ collection: c.name, message: e.message });
    }
  }

  // A collection whose sources do not typecheck is not built, as a C test
  // that does not compile has no binary. An error in a collection's folder
  // is that collection's; one elsewhere (lib/, platforms/, a shared helper)
  // is every built collection's, since tsc does not say who imported it.
  const errors = opts.typecheck === false ? [] : typecheck(opts.root, [...good.values()].flat().map((e) => e.source), opts.out);
  if (errors.length > 0) {
    const dirs = [...good.keys()].map((c) => ({ c, dir: `${c.dir}${sep}` })).sort((a, b) => b.dir.length - a.dir.length);
    const owner = (file: string | undefined): Collection | undefined => (file ? dirs.find((d) => file.startsWith(d.dir))?.c : undefined);
    for (const c of [...good.keys()]) {
      const mine = errors.filter((e) => { const o = owner(e.file); return o === c || o === undefined; });
      if (mine.length === 0) continue;
      failures.push({ collection: c.name, message: `typechecking failed:\n${mine.map((e) => e.text).join('\n')}` });
      good.delete(c);
    }
  }

  let outputs: OutputFile[] = [];
  const inputs = new Map<string, ReadonlySet<string>>();
  try {
    const b = await bundleTests([...good.values()].flat(), opts.out);
    outputs = b.outputs;
    for (const [k, v] of b.inputs) inputs.set(k, v);
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    outputs = [];
    for (const [c, entries] of [...good]) {
      try {
        const b = await bundleTests(entries, opts.out);
        outputs.push(...b.outputs);
        for (const [k, v] of b.inputs) inputs.set(k, v);
      } catch (e2) {
        if (!(e2 instanceof BuildError)) throw e2;
        failures.push({ collection: c.name, message: e2.message });
        good.delete(c);
      }
    }
  }
  for (const f of outputs) writePlain(f.path, f.contents);
  const written: string[] = outputs.map((f) => f.path);

  const built = new Map<string, string[]>();
  for (const c of collections) {
    built.set(c.name, runList(c));
    const entries = good.get(c);
    if (!entries) {
      removeOutputs(c, opts.out);
      continue;
    }
    const outDir = join(opts.out, 'tests', c.name);
    mkdirSync(outDir, { recursive: true });
    for (const e of entries) {
      writeLauncher(outDir, flatName(e.out));
      written.push(join(outDir, flatName(e.out)));
    }
    for (const p of [...c.progs, ...c.progsExtended, ...c.files]) {
      copyKeepMode(join(c.dir, p), join(outDir, flatName(p)));
      written.push(join(outDir, flatName(p)));
    }
    for (const extra of ['settings', 'config']) {
      if (!existsSync(join(c.dir, extra))) continue;
      copyKeepMode(join(c.dir, extra), join(outDir, extra));
      written.push(join(outDir, extra));
    }
  }
  for (const [c, entries] of good) {
    const used = new Set(entries.flatMap((e) => [...(inputs.get(e.out) ?? [])]));
    const stray = unlistedSources(c, testsDir, used);
    if (stray.length > 0) failures.push({ collection: c.name, message: unlistedMessage(c, opts.root, stray) });
  }
  const runner = await writeRunner(opts.root, opts.out);
  const check = await writeUpToDate(opts.root, opts.out);
  const listFile = join(opts.out, 'kselftest-list.txt');
  const list = mergeList(listFile, built);
  const bundled = [...good.values()].reduce((n, e) => n + e.length, 0);
  if (failures.length === 0) {
    const sources = [
      ...toolInputs(opts.root), ...selectionMakefiles(opts.root, sel), ...runner.inputs, ...check.inputs,
      ...[...inputs.values()].flatMap((set) => [...set]),
      ...collections.flatMap((c) => [
        ...directoriesUnder(c.dir), join(c.dir, 'settings'), join(c.dir, 'config'),
        ...[...c.progs, ...c.progsExtended, ...c.files].map((p) => join(c.dir, p)),
      ]),
    ];
    writeStamp(opts.root, sel, key, { sources, outputs: [...written, ...runner.written, ...check.written, listFile], startedNs });
  }
  return { collections, bundled, list, failures };
}
