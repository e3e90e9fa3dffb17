// `make docs`: regenerate docs/api/ and the generated blocks of docs/*.md.
// `--check`: change nothing; list what is out of date and exit 1 (make
// check runs the same comparison as a test). Either way every export of a
// documented module must have a doc comment: the missing ones are listed,
// one per line, and the exit status is 1.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate.js';
import { openProject } from './ts_project.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const bad = args.find((a) => a !== '--check');
if (bad) {
  process.stderr.write(`docs: unknown option '${bad}' (usage: main.ts [--check])\n`);
  process.exit(1);
}
const check = args.includes('--check');

const p = openProject(root);
try {
  const g = await generate(p);
  let failed = false;
  for (const u of g.undocumented) {
    process.stderr.write(`docs: no doc comment: ${u}\n`);
    failed = true;
  }
  for (const [rel, content] of g.files) {
    const path = join(root, rel);
    const now = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (now === content) continue;
    if (check) {
      process.stderr.write(`docs: ${rel} is out of date: run make docs\n`);
      failed = true;
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
      process.stderr.write(`docs: wrote ${rel}\n`);
    }
  }
  if (failed) process.exitCode = 1;
} finally {
  p.close();
}
