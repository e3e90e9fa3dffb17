// Reads a small text file with a size limit. readFileSync() keeps reading
// until EOF, and a file that never ends (a `settings` linked to /dev/zero, a
// FIFO fed by a runaway process) would grow the runner's memory without
// bound before anything is printed. The kernel runner reads these files
// line by line in a shell loop; a limit far above any real file keeps the
// runner's memory flat instead.
import { closeSync, openSync, readSync } from 'node:fs';

export class FileTooLargeError extends Error {
  constructor(readonly path: string, readonly limit: number) {
    super(`${path}: larger than ${limit} bytes (a file that never ends?)`);
  }
}

export function readBounded(path: string, limit: number): string {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(65536, limit + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > limit) throw new FileTooLargeError(path, limit);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
