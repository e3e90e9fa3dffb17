// What `make new_test` does (main.ts is its command line): checks the
// arguments, writes tests/<collection>/<name>.ts from a template
// (templates.ts) and lists it in the collection's TEST_GEN_PROGS; make is
// asked afterwards whether the name is really listed. Every refusal is a
// NewTestError with a one-line message, and leaves nothing written.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BuildError, discoverCollections, readCollection } from '../build/collections.js';
import { addToTestGenProgs } from './makefile_edit.js';
import { parseNewTestArgs, type RawNewTestArgs } from './options.js';
import { renderTest } from './templates.js';

/** A refusal: `message` is the one line to print. */
export class NewTestError extends Error {}

/** Every name a collection already uses for a program or file, by basename. */
function takenNames(testsDir: string, collection: string): Set<string> {
  const c = readCollection(testsDir, collection);
  const all = [...c.genProgs, ...c.genProgsExtended, ...c.progs, ...c.progsExtended, ...c.files];
  return new Set(all.map((p) => p.split('/').pop()!.replace(/\.[^.]*$/, '')));
}

/**
 * Create the test; returns what to tell the user. Paths in messages are
 * relative to `cwd`.
 */
export function createTest(raw: RawNewTestArgs, testsDir: string, cwd = process.cwd()): string {
  const parsed = parseNewTestArgs(raw);
  if (!parsed.ok) throw new NewTestError(parsed.error);
  const { COLLECTION: collection, NAME: name, STYLE: style } = parsed.args;
  const show = (p: string): string => relative(cwd, p) || p;
  const known = discoverCollections(testsDir);
  if (!known.includes(collection)) {
    throw new NewTestError(`new_test: COLLECTION '${collection}' is not a collection under ${show(testsDir)}/ (one of: ${known.join(' ')})`);
  }
  const dir = join(testsDir, collection);
  const file = join(dir, `${name}.ts`);
  const mk = join(dir, 'Makefile');
  if (existsSync(file)) throw new NewTestError(`new_test: NAME '${name}' is taken: ${show(file)} exists`);
  if (takenNames(testsDir, collection).has(name)) throw new NewTestError(`new_test: NAME '${name}' is taken: ${show(mk)} already lists it`);
  const before = readFileSync(mk, 'utf8');
  writeFileSync(file, renderTest(style, { name, collection }), { flag: 'wx' });
  writeFileSync(mk, addToTestGenProgs(before, name));
  // Make decides what is listed (conditionals, includes): ask it.
  let listed = false;
  try {
    listed = readCollection(testsDir, collection).genProgs.includes(name);
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
  }
  if (!listed) {
    writeFileSync(mk, before);
    rmSync(file);
    throw new NewTestError(`new_test: could not add '${name}' to TEST_GEN_PROGS in ${show(mk)}; add it there by hand`);
  }
  return [
    `new_test: wrote ${show(file)} (${style}) and listed it in ${show(mk)} (TEST_GEN_PROGS)`,
    `  build and run the collection:  make run_tests TARGETS=${collection}`,
    `  or only this test:             make all TARGETS=${collection} && build/tests/${collection}/${name}`,
    `  on another platform:           KSFT_PLATFORM=tdx build/tests/${collection}/${name}`,
    '  next steps:                    docs/tutorial.md',
    '',
  ].join('\n');
}
