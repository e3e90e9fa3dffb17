// The build's record of what a finished build was made from, so that `make
// all` (and the build step of `make run_tests`) with nothing changed costs a
// few stats instead of a typecheck and a bundle (tools/build/README.md).
//
// A stamp is written only after a build with no failure, one per selection
// (out dir, tests dir, collections, Node version and the environment the
// collections' Makefiles read), and removed before a build starts, so an
// interrupted or failed build is never taken as current. It lists, with
// size and mtime in nanoseconds:
//   - every source esbuild read for a test or the runner (its metafile),
//     which is also everything tsc checked apart from node_modules types;
//   - the collections' Makefiles and the files copied from them, and every
//     directory under a collection (a new .ts file there must be reported
//     by the build as unlisted, so adding one changes a directory mtime);
//   - the build's own sources, lib.mk, tsconfig.json and the lockfile;
//   - every file the build wrote, so a deleted or edited output rebuilds.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const BuildStampSchema = Type.Object({
  version: Type.Literal(1),
  /** The project root the build ran in (where tools/build/lib.mk is). */
  root: Type.String(),
  key: Type.String(),
  /** path -> `size:mtimeNs`, or `-` for a path that did not exist. */
  files: Type.Record(Type.String(), Type.String()),
}, { additionalProperties: false });
export type BuildStamp = Static<typeof BuildStampSchema>;

export interface Selection {
  readonly out: string;
  readonly testsDir: string;
  readonly collections: readonly string[];
}

/**
 * Names a collection Makefile refers to as `$(NAME)` or `${NAME}`: make
 * takes them from the environment (or a parent make's command line, which
 * reaches a sub-make through MAKEFLAGS), so their values are part of what
 * the lists mean.
 */
function makeVarsOf(files: readonly string[]): string[] {
  const names = new Set<string>();
  for (const f of files) {
    let text = '';
    try { text = readFileSync(f, 'utf8'); } catch { continue; }
    for (const m of text.matchAll(/\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]/g)) names.add(m[1]!);
  }
  return [...names].sort();
}

function makeflagsAssignments(): Map<string, string> {
  const r = new Map<string, string>();
  for (const w of (process.env.MAKEFLAGS ?? '').split(/\s+/)) {
    const eq = w.indexOf('=');
    if (eq > 0) r.set(w.slice(0, eq), w.slice(eq + 1));
  }
  return r;
}

/** The selection and everything outside the file system that decides the build's result. */
export function stampKey(sel: Selection, makefiles: readonly string[]): string {
  const flags = makeflagsAssignments();
  const env = makeVarsOf(makefiles).map((n) => [n, flags.get(n) ?? process.env[n] ?? null] as const);
  return JSON.stringify({ out: sel.out, testsDir: sel.testsDir, collections: [...sel.collections].sort(), node: process.version, env });
}

/** The Makefiles a selection's lists come from (checked before any build). */
export function selectionMakefiles(root: string, sel: Selection): string[] {
  return [join(root, 'tools/build/lib.mk'), ...sel.collections.map((c) => join(sel.testsDir, c, 'Makefile'))];
}

export function stampPath(sel: Selection): string {
  const h = createHash('sha256').update(JSON.stringify([sel.testsDir, [...sel.collections].sort()])).digest('hex').slice(0, 16);
  return join(sel.out, '.stamps', `${h}.json`);
}

export function fileState(path: string): string {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.size}:${s.mtimeNs}`;
  } catch {
    return '-';
  }
}

/** Every directory at or below `dir` (not node_modules, not dot folders). */
export function directoriesUnder(dir: string): string[] {
  const found: string[] = [dir];
  for (let i = 0; i < found.length; i++) {
    let entries;
    try { entries = readdirSync(found[i]!, { withFileTypes: true }); } catch { continue; }
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') found.push(join(found[i]!, e.name));
    }
  }
  return found;
}

/** Files every build depends on whatever it selects. */
export function toolInputs(root: string): string[] {
  const dir = join(root, 'tools/build');
  return [
    ...readdirSync(dir).filter((n) => n.endsWith('.ts') || n.endsWith('.mk')).map((n) => join(dir, n)),
    join(root, 'tsconfig.json'),
    join(root, 'package-lock.json'),
  ];
}

/** What a finished build read and wrote, and when it started (ns since the epoch). */
export interface BuildRecord {
  readonly sources: Iterable<string>;
  readonly outputs: Iterable<string>;
  readonly startedNs: bigint;
}

/**
 * A source modified after the build started may have been read before or
 * after the change: it is recorded as changed, so the next build runs.
 */
export function writeStamp(root: string, sel: Selection, key: string, rec: BuildRecord): void {
  const files: Record<string, string> = {};
  for (const p of rec.sources) {
    const state = fileState(p);
    const mtime = state === '-' ? 0n : BigInt(state.slice(state.indexOf(':') + 1));
    files[p] = mtime >= rec.startedNs ? 'modified during the build' : state;
  }
  for (const p of rec.outputs) files[p] = fileState(p);
  const stamp: BuildStamp = { version: 1, root, key, files };
  const target = stampPath(sel);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(stamp)}\n`);
  renameSync(tmp, target);
}

export function removeStamp(sel: Selection): void {
  rmSync(stampPath(sel), { force: true });
}

export type Freshness = { fresh: true } | { fresh: false; reason: string };

/** Whether the last finished build of this selection is still current, and if not, the first reason found. */
export function checkStamp(sel: Selection): Freshness {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(stampPath(sel), 'utf8'));
  } catch {
    return { fresh: false, reason: 'no finished build of this selection' };
  }
  if (!Value.Check(BuildStampSchema, raw)) return { fresh: false, reason: `${stampPath(sel)} is not a build stamp` };
  if (raw.key !== stampKey(sel, selectionMakefiles(raw.root, sel))) return { fresh: false, reason: 'selection, Node version or Makefile environment changed' };
  for (const [p, state] of Object.entries(raw.files)) {
    if (fileState(p) !== state) return { fresh: false, reason: `${p} changed` };
  }
  return { fresh: true };
}
