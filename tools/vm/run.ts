// CLI of the VM runner: boots the guest kernel under QEMU and runs one job in
// it, from the project directory (see README.md).
//   node --import tsx tools/vm/run.ts [options] (-c 'COMMAND LINE' | -- COMMAND [ARG]...)
// stdout is the job's stdout only; everything else goes to stderr.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readHostFacts } from './host.js';
import { parseVmOptions, USAGE, VmInputError } from './options.js';
import { runVm } from './vm.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

try {
  const o = parseVmOptions(process.argv.slice(2), process.env, root);
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
  } else {
    process.exitCode = await runVm(o, {
      stdout: process.stdout, stderr: process.stderr, env: process.env, host: readHostFacts(), root,
    });
  }
} catch (e) {
  if (!(e instanceof VmInputError)) throw e;
  process.stderr.write(`vm: ${e.message}\n`);
  process.exitCode = 1;
}
