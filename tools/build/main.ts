// CLI of the build: `node --import tsx tools/build/main.ts [--all | -C COLLECTION...]`
// --all builds every collection found under the tests directory; otherwise
// exactly the -C collections (none: just the runner and the list).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCollections } from './build.js';
import { BuildError, discoverCollections } from './collections.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function parse(argv: readonly string[]): { collections: string[]; all: boolean; out: string; quiet: boolean; testsDir: string } {
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

try {
  const args = parse(process.argv.slice(2));
  const collections = args.all ? discoverCollections(args.testsDir) : args.collections;
  const t0 = Date.now();
  const r = await buildCollections({ root, out: args.out, collections, testsDir: args.testsDir });
  for (const f of r.failures) process.stderr.write(`build: collection ${f.collection} failed: ${f.message}\n`);
  if (r.failures.length > 0) process.exitCode = 1;
  if (!args.quiet) {
    process.stderr.write(`build: ${r.collections.length} collection(s), ${r.bundled} bundled program(s) in ${Date.now() - t0} ms -> ${args.out}\n`);
  }
} catch (e) {
  if (e instanceof BuildError) {
    process.stderr.write(`build: ${e.message}\n`);
    process.exitCode = 1;
  } else {
    throw e;
  }
}
