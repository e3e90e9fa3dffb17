// Entry point of the bundled runner (build/kselftest/runner.cjs), started by
// the run_kselftest.sh launcher, which passes its own path in
// KSFT_RUNNER_SCRIPT (the list sits beside it) and, in build/, the
// collections' folder relative to it in KSFT_RUNNER_TESTS. Neither is
// passed on to the tests.
import { main } from './main.js';

const script = process.env.KSFT_RUNNER_SCRIPT ?? process.argv[1] ?? 'run_kselftest.sh';
const testsSubdir = process.env.KSFT_RUNNER_TESTS;
delete process.env.KSFT_RUNNER_SCRIPT;
delete process.env.KSFT_RUNNER_TESTS;

main({
  argv: process.argv.slice(2),
  script,
  testsSubdir,
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
