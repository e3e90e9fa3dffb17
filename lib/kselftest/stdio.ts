/**
 * Synchronous writes to fd 1 and fd 2.
 *
 * C's kselftest.h makes stdout line-buffered (`setvbuf(stdout, NULL,
 * _IOLBF, 0)` in ksft_print_header()) so that output is never duplicated
 * across fork() and the last line survives a crash. The Node equivalent is to
 * bypass process.stdout entirely: every call reaches the file descriptor
 * before it returns, so lines from a parent and the children it spawns
 * interleave in call order and nothing is lost on process.exit().
 */
import { writeSync } from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      // A pipe shared with a process that set O_NONBLOCK on it (libuv does
      // for its own stdio pipes) reports EAGAIN when full: wait for the
      // reader instead of dropping output.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** Write to fd 1 at once (synchronously, so output order survives an exit right after). */
export function writeStdout(text: string): void {
  writeAll(1, text);
}

/** Write to fd 2 at once. */
export function writeStderr(text: string): void {
  writeAll(2, text);
}

/** stdout (1) or stderr (2). */
export type StreamFd = 1 | 2;

/** Write to fd 1 or 2 at once. */
export function writeFd(fd: StreamFd, text: string): void {
  writeAll(fd, text);
}
