/**
 * The program frame of a KVM selftest: what kvm_selftest_init() (a
 * constructor that runs before main) and the C runtime do around main().
 *
 * - The KSFT_* environment is validated first (a bad value: one line, exit 1).
 * - `Random seed: 0x...` is printed before main, so it appears even in
 *   skipped tests. The seed is KSFT_RANDOM_SEED, else glibc's first random()
 *   value, as an unseeded C test prints.
 * - main's return is exit(0). An unexpected host SIGBUS/SIGSEGV (a HostFault
 *   nobody expected) kills the process with that signal, as it would in C.
 */
import { HostFault } from '../kvm/backend.js';
import { writeStderr, writeStdout } from './ksft.js';
import { ksftEnv } from './options.js';
import { mapStack } from '../source/source_map.js';

/** glibc random() after no srandom(): what `Random seed:` shows for an unseeded C test. */
export const DEFAULT_RANDOM_SEED = 0x6b8b4567;

let seed = DEFAULT_RANDOM_SEED;

/** guest_random_seed: the seed printed at start. */
export function guestRandomSeed(): number {
  return seed;
}

/** kvm_selftest_init(): validate the environment and print the seed line. */
export function kvmSelftestInit(): void {
  const env = ksftEnv();
  if (env.KSFT_RANDOM_SEED !== undefined) seed = Number(BigInt(env.KSFT_RANDOM_SEED)) >>> 0;
  writeStdout(`Random seed: 0x${seed.toString(16)}\n`);
}

/** Run `main(argv)` as a C selftest's main(): init first, exit(0) when it returns. */
export function kvmSelftestMain(main: (argv: string[]) => void | Promise<void>): void {
  kvmSelftestInit();
  Promise.resolve()
    .then(() => main(process.argv.slice(2)))
    .then(
      () => process.exit(0),
      (err: unknown) => {
        if (err instanceof HostFault) {
          writeStderr(`${err.message}\n`);
          process.kill(process.pid, err.signal);
          return;
        }
        writeStderr(`${err instanceof Error ? (err.stack ? mapStack(err.stack) : err.message) : String(err)}\n`);
        process.exit(1);
      },
    );
}
