// The output of one test under -j. A test that runs ahead of the one being
// printed keeps its output in a spool (a temporary file, unlinked at once,
// so memory stays flat whatever it writes); when its turn comes the spool
// is replayed and the test goes on writing straight through. The stream is
// therefore the serial run's, byte for byte, apart from timing. Two
// channels keep their order: `out` (stdout: headers and results) and `log`
// (the run-wide log: stdout, or output.log with -s).
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sink } from './sink.js';

const OUT = 0;
const LOG = 1;
let seq = 0;

export class JobOutput {
  readonly #sinks: readonly [Sink, Sink];
  #live = false;
  #fd: number | undefined;
  #size = 0;
  readonly out: Sink;
  readonly log: Sink;

  constructor(out: Sink, log: Sink) {
    this.#sinks = [out, log];
    this.out = { write: (d) => this.#write(OUT, d), close: () => {} };
    this.log = { write: (d) => this.#write(LOG, d), close: () => {} };
  }

  #write(ch: number, data: string | Buffer): Promise<void> {
    if (this.#live) return this.#sinks[ch]!.write(data);
    const body = typeof data === 'string' ? Buffer.from(data) : data;
    if (body.length === 0) return Promise.resolve();
    if (this.#fd === undefined) {
      const path = join(tmpdir(), `ksft-runner-spool-${process.pid}-${seq++}`);
      this.#fd = openSync(path, 'wx+', 0o600);
      unlinkSync(path);
    }
    const head = Buffer.alloc(5);
    head[0] = ch;
    head.writeUInt32LE(body.length, 1);
    for (const b of [head, body]) {
      let off = 0;
      while (off < b.length) off += writeSync(this.#fd, b, off, b.length - off, this.#size + off);
      this.#size += b.length;
    }
    return Promise.resolve();
  }

  /** Replays what was spooled, then lets the test write straight through. */
  async goLive(): Promise<void> {
    let pos = 0;
    while (this.#fd !== undefined && pos < this.#size) {
      const head = Buffer.alloc(5);
      readSync(this.#fd, head, 0, 5, pos);
      const len = head.readUInt32LE(1);
      const body = Buffer.alloc(len);
      let off = 0;
      while (off < len) off += readSync(this.#fd, body, off, len - off, pos + 5 + off);
      pos += 5 + len;
      // The test may go on spooling meanwhile; the loop catches up with it.
      await this.#sinks[head[0]!]!.write(body);
    }
    this.#live = true;
    this.discard();
  }

  /** Drops the spool (a run stopped before this test's turn). */
  discard(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    this.#size = 0;
  }
}
