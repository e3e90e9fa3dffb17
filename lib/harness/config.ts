/**
 * TH_LOG_STREAM: where TH_LOG, assertion messages, SKIP and the harness's
 * own per-test diagnostics go. C defaults it to stderr and lets a test
 * `#define TH_LOG_STREAM stdout` before including the header (the kernel's
 * harness selftest does, so its golden output has one ordered stream). Call
 * setThLogStream() at module top level, before TEST_HARNESS_MAIN(), so the
 * harness process and every test process agree.
 */
import type { StreamFd } from '../kselftest/stdio.js';

let logFd: StreamFd = 2;

/** Where TH_LOG and failure lines go: stderr (the C default) or stdout. */
export function setThLogStream(stream: 'stdout' | 'stderr'): void {
  if (stream !== 'stdout' && stream !== 'stderr') throw new Error(`setThLogStream: expected 'stdout' or 'stderr', got ${JSON.stringify(stream)}`);
  logFd = stream === 'stdout' ? 1 : 2;
}

export function thLogFd(): StreamFd {
  return logFd;
}
