// run_kselftest.sh marks each collection in the kernel log when /dev/kmsg is
// writable, so a dmesg splat can be matched to the collection that caused it.
import { closeSync, constants, openSync, writeSync } from 'node:fs';

export function markKmsg(collection: string): void {
  let fd: number;
  try {
    // No O_CREAT: a missing /dev/kmsg must not become a regular file.
    fd = openSync('/dev/kmsg', constants.O_WRONLY);
  } catch {
    return;
  }
  try {
    writeSync(fd, `kselftest: Running tests in ${collection}\n`);
  } catch {
    // Rate-limited or refused: the mark is best effort, as in the kernel runner.
  } finally {
    closeSync(fd);
  }
}
