// Test collections: every folder under tests/ whose Makefile declares
// TEST_GEN_PROGS or TEST_PROGS. The Makefile is the source of truth (as in
// tools/testing/selftests); its variables are read by asking make itself
// through lib.mk's `ksft_vars` target, so conditionals and `+=` work.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export interface Collection {
  /** Path relative to tests/, with '/' separators: `kvm`, `coco/tdx`. */
  name: string;
  dir: string;
  genProgs: string[];
  genProgsExtended: string[];
  progs: string[];
  progsExtended: string[];
  files: string[];
}

export class BuildError extends Error {}

const DECLARES = /^\s*(TEST_GEN_PROGS|TEST_PROGS)\b/m;

export function discoverCollections(testsDir: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    const mk = join(dir, 'Makefile');
    if (dir !== testsDir && existsSync(mk) && DECLARES.test(readFileSync(mk, 'utf8'))) {
      found.push(relative(testsDir, dir).split(sep).join('/'));
    }
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') walk(join(dir, e.name));
    }
  };
  if (existsSync(testsDir) && statSync(testsDir).isDirectory()) walk(testsDir);
  return found.sort();
}

const VARS = ['TEST_GEN_PROGS', 'TEST_GEN_PROGS_EXTENDED', 'TEST_PROGS', 'TEST_PROGS_EXTENDED', 'TEST_FILES'] as const;

export function readCollection(testsDir: string, name: string): Collection {
  const dir = join(testsDir, name);
  if (!existsSync(join(dir, 'Makefile'))) throw new BuildError(`no collection '${name}': ${join(dir, 'Makefile')} does not exist`);
  const r = spawnSync('make', ['-s', '--no-print-directory', '-C', dir, 'ksft_vars', `KSFT_TESTS=${testsDir}`], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new BuildError(`${join(dir, 'Makefile')}: 'make ksft_vars' failed: ${r.error?.message ?? r.stderr.trim()}`);
  }
  const vars = new Map<string, string[]>();
  for (const line of r.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) vars.set(line.slice(0, eq), line.slice(eq + 1).split(/\s+/).filter((w) => w !== ''));
  }
  for (const v of VARS) {
    if (!vars.has(v)) throw new BuildError(`${join(dir, 'Makefile')}: does not include tools/build/lib.mk (no ${v} in 'make ksft_vars')`);
  }
  return {
    name,
    dir,
    genProgs: vars.get('TEST_GEN_PROGS')!,
    genProgsExtended: vars.get('TEST_GEN_PROGS_EXTENDED')!,
    progs: vars.get('TEST_PROGS')!,
    progsExtended: vars.get('TEST_PROGS_EXTENDED')!,
    files: vars.get('TEST_FILES')!,
  };
}

/** `emit_tests` order: what run_tests runs, as `collection:basename`. */
export function runList(c: Collection): string[] {
  return [...c.genProgs, ...c.progs].map((p) => `${c.name}:${p.split('/').pop()}`);
}
