// `make new_test COLLECTION=kvm NAME=foo_test [STYLE=plain|harness]`
// (create.ts does the work). Options: `--collection X --name Y --style Z`
// (the Makefile passes its variables so) and `--tests-dir DIR` (default
// tests/). A refusal is one line on stderr and exit 1.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuildError } from '../build/collections.js';
import { createTest, NewTestError } from './create.js';
import { USAGE, type RawNewTestArgs } from './options.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function argv(list: readonly string[]): { raw: RawNewTestArgs; testsDir: string } {
  const raw: { -readonly [K in keyof RawNewTestArgs]: RawNewTestArgs[K] } = {};
  let testsDir = join(root, 'tests');
  const keys: Readonly<Record<string, keyof RawNewTestArgs>> = { '--collection': 'COLLECTION', '--name': 'NAME', '--style': 'STYLE' };
  for (let i = 0; i < list.length; i += 2) {
    const a = list[i]!;
    const value = list[i + 1];
    if (!(a in keys || a === '--tests-dir')) throw new NewTestError(`new_test: unknown option '${a}' (${USAGE})`);
    if (value === undefined) throw new NewTestError(`new_test: option ${a} needs a value (${USAGE})`);
    if (a === '--tests-dir') testsDir = resolve(value);
    else raw[keys[a]!] = value;
  }
  return { raw, testsDir };
}

try {
  const { raw, testsDir } = argv(process.argv.slice(2));
  process.stdout.write(createTest(raw, testsDir));
} catch (e) {
  if (!(e instanceof NewTestError) && !(e instanceof BuildError)) throw e;
  process.stderr.write(`${e.message.startsWith('new_test:') ? e.message : `new_test: ${e.message}`}\n`);
  process.exitCode = 1;
}
