/**
 * What crosses between the harness process and a test process.
 *
 * C forks, so the test sees the parent's registrations, and shares
 * `results->reason` (and, for FIXTURE_TEARDOWN_PARENT, `self`) through
 * MAP_SHARED pages. Node cannot fork: the harness starts the same program
 * again with KSFT_HARNESS_CHILD set, possibly ahead of time, and the test
 * process
 *  - reads which test to run as one JSON line from fd 3, a socket whose
 *    other end the harness holds: end-of-file before the line means the
 *    harness went away and nothing runs; end-of-file later means the
 *    harness died mid-test (the test process then ends its own group);
 *  - appends what C would have left in shared memory, one JSON line per
 *    update, to fd 4: a file the harness created and unlinked at once, so
 *    it is complete when the process is gone even if a grandchild holds
 *    inherited descriptors, and nothing is left on disk whatever kills whom.
 * Both are checked with the compiled checks of protocol_check.ts: typebox
 * itself stays out of the test process.
 */
import { closeSync, fstatSync, readSync, writeSync } from 'node:fs';
import { checkChildMarker, checkChildState } from './protocol_check.js';
import type { ChildMarker, ChildState } from './protocol_schema.js';

export type { ChildMarker, ChildState };

export const CHILD_ENV = 'KSFT_HARNESS_CHILD';
/** The value of CHILD_ENV: the protocol above. */
export const CHILD_PROTOCOL = 'fd3-marker,fd4-state';
export const MARKER_FD = 3;
export const STATE_FD = 4;

export function parseMarker(text: string): ChildMarker {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!checkChildMarker(value)) throw new Error(`${CHILD_ENV}: malformed test marker ${JSON.stringify(text)}`);
  return value;
}

/** Blocks until the harness names the test; undefined when it closed the socket first. */
export function readMarker(fd: number = MARKER_FD): ChildMarker | undefined {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(256);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      return undefined;
    }
    if (n === 0) return undefined;
    const nl = buf.subarray(0, n).indexOf(0x0a);
    if (nl >= 0) {
      chunks.push(Buffer.from(buf.subarray(0, nl)));
      return parseMarker(Buffer.concat(chunks).toString('utf8'));
    }
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
}

export function writeState(state: ChildState, fd: number = STATE_FD): void {
  writeSync(fd, `${JSON.stringify(state)}\n`);
}

/**
 * The last complete state a test process appended, or undefined if it wrote
 * none. A process killed mid-write leaves a partial last line: the one
 * before it counts, as a rename would have kept the previous file.
 */
export function readState(fd: number): ChildState | undefined {
  const size = fstatSync(fd).size;
  if (size === 0) return undefined;
  const buf = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  const lines = buf.subarray(0, off).toString('utf8').split('\n');
  lines.pop();
  for (let i = lines.length - 1; i >= 0; i--) {
    let value: unknown;
    try {
      value = JSON.parse(lines[i]!);
    } catch {
      continue;
    }
    if (!checkChildState(value)) throw new Error(`harness state of a test process: malformed contents ${JSON.stringify(lines[i])}`);
    return value;
  }
  return undefined;
}

export function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
