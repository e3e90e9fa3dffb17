// Entry point of the bundled runner (build/kselftest/runner.cjs), started by
// the run_kselftest.sh launcher, which passes its own path in
// KSFT_RUNNER_SCRIPT: that directory is the default base directory.
import { main } from './main.js';

const script = process.env.KSFT_RUNNER_SCRIPT ?? process.argv[1] ?? 'run_kselftest.sh';
delete process.env.KSFT_RUNNER_SCRIPT;

main({
  argv: process.argv.slice(2),
  script,
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
