// CLI of the build: `node --import tsx tools/build/main.ts [--all | -C COLLECTION...]`
// --all builds every collection found under the tests directory; otherwise
// exactly the -C collections (none: just the runner and the list).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBuildArgs } from './args.js';
import { buildCollections } from './build.js';
import { BuildError, discoverCollections } from './collections.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

try {
  const args = parseBuildArgs(root, process.argv.slice(2));
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
