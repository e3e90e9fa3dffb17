// Entry point of the bundled runner (build/run_kselftest.sh).
import { main } from './main.js';

main({
  argv: process.argv.slice(2),
  script: process.argv[1] ?? 'run_kselftest.sh',
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
}).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    process.stderr.write(`run_kselftest.sh: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
