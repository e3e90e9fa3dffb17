// `up_to_date.mjs [build options]`: exit 0 when the last finished build of
// this selection is still current (stamp.ts), 1 otherwise; KSFT_BUILD_WHY=1
// says why on stderr. The build bundles this file into its output folder
// (.stamps/up_to_date.mjs) so the Makefiles run it with plain node: the
// check costs a Node start and some stats, where starting the build itself
// through tsx costs more than the whole check.
import { parseBuildArgs } from './args.js';
import { discoverCollections } from './collections.js';
import { checkStamp } from './stamp.js';

// The bundle sits in <out>/.stamps/, so its place says nothing of the
// project; the stamp names the root it was built from. The Makefiles pass
// -o and --tests-dir, and run this from the project root, which only the
// defaults of those options would need.
const root = process.cwd();

try {
  const args = parseBuildArgs(root, process.argv.slice(2));
  const collections = args.all ? discoverCollections(args.testsDir) : args.collections;
  const r = checkStamp({ out: args.out, testsDir: args.testsDir, collections });
  if (!r.fresh && process.env.KSFT_BUILD_WHY === '1') process.stderr.write(`build: rebuilding: ${r.reason}\n`);
  process.exitCode = r.fresh ? 0 : 1;
} catch (e) {
  if (process.env.KSFT_BUILD_WHY === '1') process.stderr.write(`build: rebuilding: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
