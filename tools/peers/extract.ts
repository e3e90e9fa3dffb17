// `node --import tsx tools/peers/extract.ts [PEERS_DIR]`: extracts the kernel's
// runner and kunit.py from linux-source-6.12 into build/peers (or PEERS_DIR)
// unless already there, and prints where they are and how long it took.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSource } from './kernel_source.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = resolve(process.argv[2] ?? `${root}/build/peers`);
const r = kernelSource(dir);
if (!r.ok) {
  process.stderr.write(`extract: ${r.reason}\n`);
  process.exit(1);
}
process.stdout.write(`${r.source.top} (${r.source.extractMs > 0 ? `extracted in ${r.source.extractMs} ms` : 'cached'})\n`);
