// The build's command line, shared by the build (main.ts) and its
// up-to-date check (up_to_date.ts), so both name the same selection.
import { join, resolve } from 'node:path';
import { BuildError } from './collections.js';

export interface BuildArgs {
  collections: string[];
  all: boolean;
  out: string;
  quiet: boolean;
  testsDir: string;
}

export function parseBuildArgs(root: string, argv: readonly string[]): BuildArgs {
  const collections: string[] = [];
  let all = false;
  let out = join(root, 'build');
  let testsDir = join(root, 'tests');
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-C' || a === '--collection') {
      const v = argv[++i];
      if (!v) throw new BuildError(`option ${a} needs a collection name`);
      collections.push(v.replace(/\/+$/, ''));
    } else if (a === '-o' || a === '--out') {
      const v = argv[++i];
      if (!v) throw new BuildError(`option ${a} needs a directory`);
      out = resolve(v);
    } else if (a === '--all') {
      all = true;
    } else if (a === '--tests-dir') {
      const v = argv[++i];
      if (!v) throw new BuildError(`option ${a} needs a directory`);
      testsDir = resolve(v);
    } else if (a === '-q' || a === '--quiet') {
      quiet = true;
    } else {
      throw new BuildError(`unknown option '${a}' (usage: main.ts [--all | -C COLLECTION...] [-o OUTDIR] [--tests-dir DIR] [-q])`);
    }
  }
  return { collections, all, out, quiet, testsDir };
}

